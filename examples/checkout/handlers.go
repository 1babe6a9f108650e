package checkout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Limits of request bodies.
const (
	maxBodyBytes = 1 << 20
	minQuantity  = 1
	maxQuantity  = 10
)

// productIDPattern is the shape of a product ID; a well-formed ID outside
// the catalog is a 404, anything else a 400.
var productIDPattern = regexp.MustCompile(`^prod_[1-9][0-9]*$`)

// handlers serves the API from a Store.
type handlers struct {
	store  Store
	tokens *tokenIssuer
	log    *slog.Logger

	ordersCreated prometheus.Counter
	orderCache    *prometheus.CounterVec
}

func newHandlers(store Store, tokens *tokenIssuer, log *slog.Logger, reg prometheus.Registerer) (*handlers, error) {
	h := &handlers{
		store:  store,
		tokens: tokens,
		log:    log,
		ordersCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkout_orders_created_total",
			Help: "Orders created.",
		}),
		orderCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkout_order_cache_requests_total",
			Help: "Order reads by cache result (hit or miss).",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{h.ordersCreated, h.orderCache} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("could not register checkout metrics: %w", err)
		}
	}
	return h, nil
}

// register adds the API routes to mux.
func (h *handlers) register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/auth/login", h.login)
	mux.HandleFunc("POST /api/cart/add", h.tokens.requireUser(h.addToCart))
	mux.HandleFunc("POST /api/orders/create", h.tokens.requireUser(h.createOrder))
	mux.HandleFunc("GET /api/orders/{id}", h.tokens.requireUser(h.getOrder))
	mux.HandleFunc("GET /healthz", h.healthz)
}

// loginRequest is the body of POST /api/auth/login.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// loginResponse is the answer to a successful login.
type loginResponse struct {
	Token     string `json:"token"`
	TokenType string `json:"token_type"`
	// ExpiresIn is the token lifetime in seconds.
	ExpiresIn int64 `json:"expires_in"`
}

func (h *handlers) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	if req.Username == "" || req.Password == "" {
		writeError(w, http.StatusBadRequest, "username and password are required")
		return
	}
	id, ok := checkPassword(req.Username, req.Password)
	if !ok {
		writeError(w, http.StatusUnauthorized, "invalid username or password")
		return
	}
	token, err := h.tokens.issue(req.Username, id)
	if err != nil {
		h.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, loginResponse{Token: token, TokenType: "Bearer", ExpiresIn: int64(h.tokens.ttl / time.Second)})
}

// addToCartRequest is the body of POST /api/cart/add. Pointers tell a
// missing field from a zero one.
type addToCartRequest struct {
	ProductID *string `json:"product_id"`
	Variant   *string `json:"variant"`
	Quantity  *int    `json:"quantity"`
}

// cartItem is one line of a cart response.
type cartItem struct {
	ProductID      string `json:"product_id"`
	Name           string `json:"name"`
	Variant        string `json:"variant"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

// cartResponse is the answer to POST /api/cart/add.
type cartResponse struct {
	CartID string     `json:"cart_id"`
	Items  []cartItem `json:"items"`
	// ItemCount is the number of units in the cart (sum of quantities).
	ItemCount int `json:"item_count"`
	// SubtotalCents is the sum of quantity × unit price, in cents.
	SubtotalCents int64 `json:"subtotal_cents"`
}

func (h *handlers) addToCart(w http.ResponseWriter, r *http.Request) {
	var req addToCartRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	switch {
	case req.ProductID == nil || *req.ProductID == "":
		writeError(w, http.StatusBadRequest, "product_id is required")
		return
	case !productIDPattern.MatchString(*req.ProductID):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("product_id %q is not of the form prod_N (prod_1 … prod_%d)", *req.ProductID, NumProducts))
		return
	case req.Variant == nil || !validVariant(*req.Variant):
		writeError(w, http.StatusBadRequest, "variant must be one of S, M, L, XL")
		return
	case req.Quantity == nil || *req.Quantity < minQuantity || *req.Quantity > maxQuantity:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("quantity must be an integer from %d to %d", minQuantity, maxQuantity))
		return
	}
	catalog := h.store.Catalog()
	if _, ok := catalog.Product(*req.ProductID); !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("product %q not found", *req.ProductID))
		return
	}
	cart, err := h.store.AddToCart(r.Context(), requestUser(r), CartLine{ProductID: *req.ProductID, Variant: *req.Variant, Quantity: *req.Quantity})
	if err != nil {
		h.storeError(w, r, fmt.Errorf("could not add to cart: %w", err))
		return
	}
	resp := cartResponse{CartID: cart.ID, Items: make([]cartItem, 0, len(cart.Lines))}
	for _, l := range cart.Lines {
		p, _ := catalog.Product(l.ProductID)
		resp.Items = append(resp.Items, cartItem{ProductID: l.ProductID, Name: p.Name, Variant: l.Variant, Quantity: l.Quantity, UnitPriceCents: p.PriceCents})
		resp.ItemCount += l.Quantity
		resp.SubtotalCents += int64(l.Quantity) * p.PriceCents
	}
	writeJSON(w, http.StatusOK, resp)
}

// createOrderRequest is the optional body of POST /api/orders/create.
type createOrderRequest struct {
	// CartID, when set, must name the caller's current cart.
	CartID string `json:"cart_id"`
}

// createOrder turns the caller's cart into an order and clears the cart.
// With an empty cart it orders one unit of a random product, so that a load
// test of this step alone still exercises the database.
func (h *handlers) createOrder(w http.ResponseWriter, r *http.Request) {
	var req createOrderRequest
	if !decodeBody(w, r, &req, true) {
		return
	}
	ctx, user := r.Context(), requestUser(r)
	cart, err := h.store.Cart(ctx, user)
	if err != nil {
		h.storeError(w, r, fmt.Errorf("could not read cart: %w", err))
		return
	}
	if req.CartID != "" && cart.ID != "" && req.CartID != cart.ID {
		writeError(w, http.StatusNotFound, fmt.Sprintf("cart %q not found", req.CartID))
		return
	}
	lines := cart.Lines
	if len(lines) == 0 {
		lines = []CartLine{randomLine(h.store.Catalog())}
	}
	order, err := h.store.CreateOrder(ctx, user, lines)
	if err != nil {
		h.storeError(w, r, fmt.Errorf("could not create order: %w", err))
		return
	}
	h.ordersCreated.Inc()
	if len(cart.Lines) > 0 {
		// The order is committed; a cart left behind is only untidy.
		if err := h.store.ClearCart(ctx, user); err != nil {
			h.log.Warn("could not clear cart after order", "user", user, "order", order.ID, "err", err)
		}
	}
	w.Header().Set("Location", "/api/orders/"+strconv.FormatInt(order.ID, 10))
	writeJSON(w, http.StatusCreated, order)
}

// randomLine is one unit of a random product variant.
func randomLine(c *Catalog) CartLine {
	return CartLine{
		ProductID: c.At(rand.IntN(c.Len())).ID,
		Variant:   Variants[rand.IntN(len(Variants))],
		Quantity:  1,
	}
}

// getOrder serves an order from the cache, or from the database and then
// caches it. Orders of other users are reported as missing (404), so that
// order IDs cannot be probed.
func (h *handlers) getOrder(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("order id %q is not a positive integer", r.PathValue("id")))
		return
	}
	ctx := r.Context()
	order, ok, err := h.store.CachedOrder(ctx, id)
	if err != nil {
		if ctx.Err() != nil {
			h.storeError(w, r, err)
			return
		}
		// A cache that fails is a miss: the database still answers.
		h.log.Warn("order cache read failed", "order", id, "err", err)
	}
	if ok {
		h.orderCache.WithLabelValues("hit").Inc()
	} else {
		h.orderCache.WithLabelValues("miss").Inc()
		order, err = h.store.LoadOrder(ctx, id)
		if errors.Is(err, ErrNotFound) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("order %d not found", id))
			return
		}
		if err != nil {
			h.storeError(w, r, fmt.Errorf("could not load order %d: %w", id, err))
			return
		}
		if err := h.store.CacheOrder(ctx, order); err != nil {
			h.log.Warn("could not cache order", "order", id, "err", err)
		}
	}
	if order.UserID != requestUser(r) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("order %d not found", id))
		return
	}
	writeJSON(w, http.StatusOK, order)
}

func (h *handlers) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// storeError answers a failed store call with the status its error maps to.
func (h *handlers) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		writeError(w, http.StatusServiceUnavailable, "service unavailable, retry later")
	default:
		h.internalError(w, r, err)
	}
}

func (h *handlers) internalError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

// decodeBody reads a JSON object into v, answering 400 on failure. An
// empty body is accepted only when emptyOK.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("could not read body: %v", err))
		return false
	}
	if len(body) == 0 {
		if emptyOK {
			return true
		}
		writeError(w, http.StatusBadRequest, "a JSON body is required")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("field %s must be of type %s", typeErr.Field, typeErr.Type))
			return false
		}
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid JSON body: %v", err))
		return false
	}
	return true
}

// errorResponse is the body of every error answer.
type errorResponse struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorResponse{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	// The status is sent; an encoding or write error can only be a
	// client that went away.
	_ = json.NewEncoder(w).Encode(v)
}
