package checkout

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// price returns a product's unit price from the server's catalog.
func price(t *testing.T, srv *Server, id string) int64 {
	t.Helper()
	p, ok := srv.store.Catalog().Product(id)
	if !ok {
		t.Fatalf("product %s is not in the catalog", id)
	}
	return p.PriceCents
}

func TestCheckoutFlow(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.open(t, Config{PoolSize: 4, RedisPoolSize: 4, OrderDBHold: 5 * time.Millisecond})
			api := newTestClient(t, srv)
			alice, bob := api.as("user1"), api.as("user2")

			var cart cartResponse
			alice.mustJSON(http.MethodPost, "/api/cart/add", map[string]any{"product_id": "prod_42", "variant": "M", "quantity": 2}, http.StatusOK, &cart)
			firstID := cart.CartID
			alice.mustJSON(http.MethodPost, "/api/cart/add", map[string]any{"product_id": "prod_7", "variant": "S", "quantity": 1}, http.StatusOK, &cart)
			alice.mustJSON(http.MethodPost, "/api/cart/add", map[string]any{"product_id": "prod_42", "variant": "M", "quantity": 1}, http.StatusOK, &cart)
			wantTotal := 3*price(t, srv, "prod_42") + price(t, srv, "prod_7")
			switch {
			case cart.CartID == "" || cart.CartID != firstID:
				t.Fatalf("cart ID changed from %q to %q", firstID, cart.CartID)
			case cart.ItemCount != 4 || len(cart.Items) != 2:
				t.Fatalf("cart has %d units in %d lines, want 4 in 2: %+v", cart.ItemCount, len(cart.Items), cart)
			case cart.Items[0].ProductID != "prod_7" || cart.Items[1].ProductID != "prod_42" || cart.Items[1].Quantity != 3:
				t.Fatalf("cart lines are %+v, want prod_7 × 1 then prod_42 × 3", cart.Items)
			case cart.SubtotalCents != wantTotal:
				t.Fatalf("cart subtotal is %d, want %d", cart.SubtotalCents, wantTotal)
			}

			// Bob cannot order Alice's cart by its ID once he has his own.
			bob.mustJSON(http.MethodPost, "/api/cart/add", map[string]any{"product_id": "prod_1", "variant": "XL", "quantity": 1}, http.StatusOK, nil)
			bob.mustJSON(http.MethodPost, "/api/orders/create", map[string]any{"cart_id": cart.CartID}, http.StatusNotFound, nil)

			var order Order
			alice.mustJSON(http.MethodPost, "/api/orders/create", map[string]any{"cart_id": cart.CartID}, http.StatusCreated, &order)
			switch {
			case order.ID < 1 || order.UserID != 1 || order.Status != OrderStatusCreated:
				t.Fatalf("order is %+v, want a positive ID, user 1 and status created", order)
			case order.TotalCents != wantTotal || len(order.Items) != 2:
				t.Fatalf("order total is %d in %d items, want %d in 2", order.TotalCents, len(order.Items), wantTotal)
			}

			// The cart was cleared, so the next order is one random unit.
			var random Order
			alice.mustJSON(http.MethodPost, "/api/orders/create", nil, http.StatusCreated, &random)
			if random.ID <= order.ID || len(random.Items) != 1 || random.Items[0].Quantity != 1 {
				t.Fatalf("order from an empty cart is %+v, want one unit with an ID after %d", random, order.ID)
			}
			if random.TotalCents != price(t, srv, random.Items[0].ProductID) {
				t.Fatalf("random order total %d is not the price of %s", random.TotalCents, random.Items[0].ProductID)
			}

			path := fmt.Sprintf("/api/orders/%d", order.ID)
			for range 2 {
				var got Order
				alice.mustJSON(http.MethodGet, path, nil, http.StatusOK, &got)
				if got.ID != order.ID || got.TotalCents != order.TotalCents || len(got.Items) != 2 || !got.CreatedAt.Equal(order.CreatedAt) {
					t.Fatalf("GET %s = %+v, want %+v", path, got, order)
				}
			}
			if hits := mustMetric(t, srv.Registry(), "checkout_order_cache_requests_total", "result", "hit"); hits != 1 {
				t.Errorf("the second read was not served from the cache: %v hits", hits)
			}
			bob.mustJSON(http.MethodGet, path, nil, http.StatusNotFound, nil)
			alice.mustJSON(http.MethodGet, "/api/orders/999999999", nil, http.StatusNotFound, nil)

			if code, body := api.do(http.MethodGet, "/healthz", nil); code != http.StatusOK {
				t.Errorf("/healthz = %d %s", code, body)
			}
		})
	}
}

func TestBadInputIsRejected(t *testing.T) {
	srv := openSim(t, Config{})
	api := newTestClient(t, srv).as("user3")
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		code   int
		msg    string // a substring of the error message
	}{
		{"a cart add without a body is a 400", "POST", "/api/cart/add", nil, 400, "JSON body is required"},
		{"a cart add with malformed JSON is a 400", "POST", "/api/cart/add", `{"product_id":`, 400, "invalid JSON"},
		{"a cart add without product_id is a 400", "POST", "/api/cart/add", `{"variant":"M","quantity":1}`, 400, "product_id is required"},
		{"a product_id of the wrong shape is a 400", "POST", "/api/cart/add", `{"product_id":"42","variant":"M","quantity":1}`, 400, "prod_N"},
		{"a well-formed product_id outside the catalog is a 404", "POST", "/api/cart/add", `{"product_id":"prod_501","variant":"M","quantity":1}`, 404, "not found"},
		{"an unknown variant is a 400", "POST", "/api/cart/add", `{"product_id":"prod_1","variant":"XXL","quantity":1}`, 400, "S, M, L, XL"},
		{"a missing quantity is a 400", "POST", "/api/cart/add", `{"product_id":"prod_1","variant":"M"}`, 400, "quantity must be"},
		{"a quantity of zero is a 400", "POST", "/api/cart/add", `{"product_id":"prod_1","variant":"M","quantity":0}`, 400, "from 1 to 10"},
		{"a quantity above ten is a 400", "POST", "/api/cart/add", `{"product_id":"prod_1","variant":"M","quantity":11}`, 400, "from 1 to 10"},
		{"a fractional quantity is a 400", "POST", "/api/cart/add", `{"product_id":"prod_1","variant":"M","quantity":1.5}`, 400, "quantity"},
		{"a string quantity is a 400", "POST", "/api/cart/add", `{"product_id":"prod_1","variant":"M","quantity":"2"}`, 400, "quantity"},
		{"an order with malformed JSON is a 400", "POST", "/api/orders/create", `{"cart_id"`, 400, "invalid JSON"},
		{"a non-numeric order ID is a 400", "GET", "/api/orders/abc", nil, 400, "positive integer"},
		{"a zero order ID is a 400", "GET", "/api/orders/0", nil, 400, "positive integer"},
		{"a login without a password is a 400", "POST", "/api/auth/login", `{"username":"user1"}`, 400, "required"},
		{"an unknown route is a 404", "GET", "/api/nothing", nil, 404, ""},
		{"a GET of a POST route is a 405", "GET", "/api/cart/add", nil, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := api.do(tt.method, tt.path, tt.body)
			if code != tt.code {
				t.Fatalf("status %d, want %d; body %s", code, tt.code, body)
			}
			if !strings.Contains(string(body), tt.msg) {
				t.Errorf("body %s does not mention %q", body, tt.msg)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	srv := openSim(t, Config{TokenTTL: 90 * time.Second})
	api := newTestClient(t, srv)
	past := func() time.Time { return time.Now().Add(-time.Hour) }
	expired, err := (&tokenIssuer{secret: []byte(testJWTSecret), ttl: time.Minute, now: past}).issue("user1", 1)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := (&tokenIssuer{secret: []byte("another secret"), ttl: time.Minute, now: time.Now}).issue("user1", 1)
	if err != nil {
		t.Fatal(err)
	}
	mismatched, err := (&tokenIssuer{secret: []byte(testJWTSecret), ttl: time.Minute, now: time.Now}).issue("user1", 2)
	if err != nil {
		t.Fatal(err)
	}

	var login loginResponse
	api.mustJSON(http.MethodPost, "/api/auth/login", map[string]string{"username": "user1000", "password": "secret"}, http.StatusOK, &login)
	if login.ExpiresIn != 90 || login.TokenType != "Bearer" {
		t.Errorf("login answered expires_in %d, token_type %q; want 90, Bearer", login.ExpiresIn, login.TokenType)
	}

	tests := []struct {
		name string
		do   func() (int, []byte)
		code int
		msg  string
	}{
		{"a seeded user with the right password gets a working token", func() (int, []byte) {
			return api.withToken(login.Token).do(http.MethodPost, "/api/orders/create", nil)
		}, 201, ""},
		{"a request without a token is a 401", func() (int, []byte) {
			return api.do(http.MethodPost, "/api/orders/create", nil)
		}, 401, "missing bearer token"},
		{"a garbage token is a 401", func() (int, []byte) {
			return api.withToken("not.a.jwt").do(http.MethodGet, "/api/orders/1", nil)
		}, 401, "invalid token"},
		{"an expired token is a 401 that says so", func() (int, []byte) {
			return api.withToken(expired).do(http.MethodPost, "/api/cart/add", `{"product_id":"prod_1","variant":"M","quantity":1}`)
		}, 401, "token expired"},
		{"a token signed with another secret is a 401", func() (int, []byte) {
			return api.withToken(forged).do(http.MethodPost, "/api/orders/create", nil)
		}, 401, "invalid token"},
		{"a token whose user ID does not match its subject is a 401", func() (int, []byte) {
			return api.withToken(mismatched).do(http.MethodPost, "/api/orders/create", nil)
		}, 401, "invalid token"},
		{"a wrong password is a 401", func() (int, []byte) {
			return api.do(http.MethodPost, "/api/auth/login", `{"username":"user1","password":"guess"}`)
		}, 401, "invalid username or password"},
		{"a user beyond user1000 is a 401", func() (int, []byte) {
			return api.do(http.MethodPost, "/api/auth/login", `{"username":"user1001","password":"secret"}`)
		}, 401, "invalid username or password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := tt.do()
			if code != tt.code {
				t.Fatalf("status %d, want %d; body %s", code, tt.code, body)
			}
			if !strings.Contains(string(body), tt.msg) {
				t.Errorf("body %s does not mention %q", body, tt.msg)
			}
		})
	}
}

// exportedSeries are the sample names /metrics must expose on every
// backend.
var exportedSeries = []string{
	"pgxpool_acquired_conns", "pgxpool_idle_conns", "pgxpool_total_conns", "pgxpool_max_conns", "pgxpool_constructing_conns",
	"pgxpool_acquire_count_total", "pgxpool_canceled_acquire_count_total", "pgxpool_empty_acquire_count_total",
	"pgxpool_acquire_duration_seconds_total", "pgxpool_empty_acquire_wait_time_seconds_total", "pgxpool_new_conns_count_total",
	"pgxpool_max_lifetime_destroy_count_total", "pgxpool_max_idle_destroy_count_total",
	"go_redis_pool_hits_total", "go_redis_pool_misses_total", "go_redis_pool_timeouts_total", "go_redis_pool_total_conns",
	"go_redis_pool_idle_conns", "go_redis_pool_stale_conns_total", "go_redis_pool_max_conns",
	"go_redis_pool_wait_count_total", "go_redis_pool_wait_duration_seconds_total",
	"http_server_requests_total", "http_server_request_duration_seconds_bucket", "http_server_requests_in_flight",
	"checkout_orders_created_total", "process_cpu_seconds_total", "go_goroutines",
}

func TestMetricsAreExposed(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.open(t, Config{PoolSize: 6, RedisPoolSize: 5, OrderDBHold: time.Millisecond})
			api := newTestClient(t, srv)
			user := api.as("user4")
			user.mustJSON(http.MethodPost, "/api/cart/add", `{"product_id":"prod_3","variant":"L","quantity":1}`, http.StatusOK, nil)
			var o Order
			user.mustJSON(http.MethodPost, "/api/orders/create", nil, http.StatusCreated, &o)
			user.mustJSON(http.MethodGet, fmt.Sprintf("/api/orders/%d", o.ID), nil, http.StatusOK, nil)

			for _, format := range []struct{ accept, contentType string }{
				{"text/plain", "text/plain"},
				{"application/openmetrics-text; version=1.0.0", "application/openmetrics-text"},
			} {
				req, _ := http.NewRequest(http.MethodGet, api.base+"/metrics", nil)
				req.Header.Set("Accept", format.accept)
				resp, err := api.http.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var body bytes.Buffer
				_, _ = body.ReadFrom(resp.Body)
				resp.Body.Close()
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, format.contentType) {
					t.Errorf("Accept %q got Content-Type %q", format.accept, ct)
				}
				samples := map[string]bool{}
				sc := bufio.NewScanner(&body)
				for sc.Scan() {
					line := sc.Text()
					if line == "" || line[0] == '#' {
						continue
					}
					name, _, _ := strings.Cut(line, " ")
					name, _, _ = strings.Cut(name, "{")
					samples[name] = true
				}
				for _, name := range exportedSeries {
					if !samples[name] {
						t.Errorf("%s: /metrics has no %s", format.contentType, name)
					}
				}
			}

			reg := srv.Registry()
			checks := []struct {
				name string
				want float64
			}{
				{"pgxpool_max_conns", 6},
				{"go_redis_pool_max_conns", 5},
				{"pgxpool_acquired_conns", 0},
			}
			for _, c := range checks {
				if got := mustMetric(t, reg, c.name); got != c.want {
					t.Errorf("%s = %v, want %v", c.name, got, c.want)
				}
			}
			for _, name := range []string{"pgxpool_acquire_count_total", "pgxpool_new_conns_count_total", "pgxpool_total_conns", "go_redis_pool_total_conns"} {
				if got := mustMetric(t, reg, name); got < 1 {
					t.Errorf("%s = %v, want at least 1 after an order", name, got)
				}
			}
			if got := mustMetric(t, reg, "go_redis_pool_hits_total") + mustMetric(t, reg, "go_redis_pool_misses_total"); got < 1 {
				t.Errorf("go_redis_pool hits + misses = %v, want at least 1", got)
			}
			if got := mustMetric(t, reg, "http_server_requests_total", "route", "/api/orders/{id}", "method", "GET", "code", "200"); got != 1 {
				t.Errorf("http_server_requests_total for GET /api/orders/{id} 200 = %v, want 1", got)
			}
			if got := mustMetric(t, reg, "http_server_request_duration_seconds", "route", "/api/orders/create"); got != 1 {
				t.Errorf("http_server_request_duration_seconds count for /api/orders/create = %v, want 1", got)
			}
		})
	}
}
