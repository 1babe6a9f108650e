package checkout

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitFor polls cond until it holds or a second passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// acquireAsync starts an acquire and returns the channel its result
// arrives on.
func acquireAsync(ctx context.Context, p *simPool) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- p.acquire(ctx) }()
	return ch
}

func TestSimPool(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"connections are created lazily and then reused as hits", func(t *testing.T) {
			p := newSimPool(3, 0)
			for range 2 {
				if err := p.acquire(ctx); err != nil {
					t.Fatal(err)
				}
			}
			p.release()
			if err := p.acquire(ctx); err != nil {
				t.Fatal(err)
			}
			s := p.stats()
			if s.NewConns != 2 || s.Misses != 2 || s.Hits != 1 || s.EmptyAcquireCount != 2 || s.AcquireCount != 3 {
				t.Errorf("stats %+v, want 2 new conns (misses, empty acquires), 1 hit, 3 acquires", s)
			}
			if s.Acquired != 2 || s.Idle != 0 || s.Total != 2 || s.Max != 3 {
				t.Errorf("stats %+v, want 2 acquired, 0 idle, 2 total, max 3", s)
			}
		}},
		{"waiters are served in arrival order", func(t *testing.T) {
			p := newSimPool(1, 0)
			if err := p.acquire(ctx); err != nil {
				t.Fatal(err)
			}
			first := acquireAsync(ctx, p)
			waitFor(t, "the first waiter queues", func() bool { return p.stats().Waiting == 1 })
			second := acquireAsync(ctx, p)
			waitFor(t, "the second waiter queues", func() bool { return p.stats().Waiting == 2 })

			p.release()
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			select {
			case <-second:
				t.Fatal("the second waiter got the connection before the first released it")
			case <-time.After(5 * time.Millisecond):
			}
			p.release()
			if err := <-second; err != nil {
				t.Fatal(err)
			}
			s := p.stats()
			if s.WaitCount != 2 || s.EmptyAcquireCount != 3 || s.Acquired != 1 || s.Total != 1 {
				t.Errorf("stats %+v, want 2 waits, 3 empty acquires, 1 acquired of 1", s)
			}
		}},
		{"a newcomer does not jump the queue", func(t *testing.T) {
			p := newSimPool(1, 0)
			if err := p.acquire(ctx); err != nil {
				t.Fatal(err)
			}
			waiter := acquireAsync(ctx, p)
			waitFor(t, "the waiter queues", func() bool { return p.stats().Waiting == 1 })
			p.release() // handed to the waiter, never idle
			if err := <-waiter; err != nil {
				t.Fatal(err)
			}
			if s := p.stats(); s.Idle != 0 || s.Acquired != 1 {
				t.Errorf("stats %+v, want the connection handed over, not idle", s)
			}
		}},
		{"acquire duration sums the time spent waiting", func(t *testing.T) {
			p := newSimPool(1, 0)
			if err := p.acquire(ctx); err != nil {
				t.Fatal(err)
			}
			waiter := acquireAsync(ctx, p)
			waitFor(t, "the waiter queues", func() bool { return p.stats().Waiting == 1 })
			time.Sleep(20 * time.Millisecond)
			p.release()
			if err := <-waiter; err != nil {
				t.Fatal(err)
			}
			s := p.stats()
			if s.AcquireDuration < 20*time.Millisecond || s.AcquireDuration > time.Second {
				t.Errorf("acquire duration %v, want about 20ms", s.AcquireDuration)
			}
			if s.WaitDuration < 20*time.Millisecond || s.EmptyAcquireWaitTime < s.WaitDuration {
				t.Errorf("wait duration %v, empty acquire wait %v; want both at least 20ms", s.WaitDuration, s.EmptyAcquireWaitTime)
			}
		}},
		{"a canceled wait is counted and leaves the pool consistent", func(t *testing.T) {
			p := newSimPool(1, 0)
			if err := p.acquire(ctx); err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithCancel(ctx)
			waiter := acquireAsync(cctx, p)
			waitFor(t, "the waiter queues", func() bool { return p.stats().Waiting == 1 })
			cancel()
			if err := <-waiter; !errors.Is(err, context.Canceled) {
				t.Fatalf("canceled acquire returned %v", err)
			}
			p.release()
			s := p.stats()
			if s.CanceledAcquireCount != 1 || s.Waiting != 0 || s.Acquired != 0 || s.Idle != 1 || s.AcquireCount != 1 {
				t.Errorf("stats %+v, want 1 canceled, nothing waiting or acquired, 1 idle, 1 acquire", s)
			}
		}},
		{"a wait longer than the pool timeout fails and is counted as a timeout", func(t *testing.T) {
			p := newSimPool(1, 10*time.Millisecond)
			if err := p.acquire(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.acquire(ctx); !errors.Is(err, errSimPoolTimeout) {
				t.Fatalf("acquire on a full pool returned %v, want a pool timeout", err)
			}
			if s := p.stats(); s.Timeouts != 1 || s.Waiting != 0 || s.AcquireCount != 1 {
				t.Errorf("stats %+v, want 1 timeout, nothing waiting, 1 acquire", s)
			}
		}},
		{"a hold keeps its connection for the hold time and then commits", func(t *testing.T) {
			p := newSimPool(1, 0)
			committed := false
			start := time.Now()
			if err := p.hold(ctx, 15*time.Millisecond, func() error { committed = true; return nil }); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < 15*time.Millisecond || !committed {
				t.Errorf("hold returned after %v with committed=%v, want at least 15ms and committed", d, committed)
			}
			if s := p.stats(); s.Acquired != 0 || s.Idle != 1 {
				t.Errorf("stats %+v, want the connection released", s)
			}
		}},
		{"a hold cut short by its context does not commit", func(t *testing.T) {
			p := newSimPool(1, 0)
			cctx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
			defer cancel()
			committed := false
			err := p.hold(cctx, time.Second, func() error { committed = true; return nil })
			if !errors.Is(err, context.DeadlineExceeded) || committed {
				t.Errorf("hold returned %v with committed=%v, want a deadline error and no commit", err, committed)
			}
			if s := p.stats(); s.Acquired != 0 {
				t.Errorf("stats %+v, want the connection released", s)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestCatalog(t *testing.T) {
	a, b := seedProducts(), seedProducts()
	if len(a) != NumProducts {
		t.Fatalf("seed catalog has %d products, want %d", len(a), NumProducts)
	}
	seen := map[string]bool{}
	for i, p := range a {
		if p != b[i] {
			t.Fatalf("seed catalog is not deterministic at %d: %+v vs %+v", i, p, b[i])
		}
		if seen[p.ID] || !productIDPattern.MatchString(p.ID) || p.Name == "" || p.PriceCents < 999 || p.PriceCents > 14999 {
			t.Fatalf("product %+v is duplicated or malformed", p)
		}
		seen[p.ID] = true
	}
	if !seen["prod_1"] || !seen["prod_500"] || seen["prod_0"] || seen["prod_501"] {
		t.Errorf("catalog does not span prod_1 … prod_500")
	}

	users := []struct {
		name string
		id   int64
		ok   bool
	}{
		{"user1", 1, true}, {"user1000", 1000, true}, {"user0", 0, false}, {"user1001", 0, false},
		{"user01", 0, false}, {"user", 0, false}, {"admin", 0, false}, {"user-5", 0, false},
	}
	for _, u := range users {
		if id, ok := userID(u.name); id != u.id || ok != u.ok {
			t.Errorf("userID(%q) = %d, %v; want %d, %v", u.name, id, ok, u.id, u.ok)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"an empty config gets the documented defaults", Config{}, false},
		{"an unknown backend is rejected", Config{Backend: "mongo"}, true},
		{"a negative pool size is rejected", Config{PoolSize: -1}, true},
		{"a negative order hold is rejected", Config{OrderDBHold: -time.Millisecond}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			err := cfg.defaults()
			if (err != nil) != tt.wantErr {
				t.Fatalf("defaults() = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrBadConfig) {
					t.Errorf("error %v does not wrap ErrBadConfig", err)
				}
				return
			}
			if cfg.PoolSize != 20 || cfg.RedisPoolSize != 20 || cfg.OrderDBHold != 40*time.Millisecond || cfg.Backend != BackendReal ||
				cfg.Listen != "127.0.0.1:8080" || cfg.JWTSecret == "" || cfg.Logger == nil {
				t.Errorf("defaults gave %+v", cfg)
			}
		})
	}
}
