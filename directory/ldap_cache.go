package directory

import (
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// ldapCache remembers lookup answers (found and not found) for a short
// time, and lets concurrent misses of one key share a single LDAP request.
// Password checks never go through it.
type ldapCache struct {
	ttl time.Duration
	max int
	mu  sync.Mutex
	m   map[string]cacheItem
	sf  singleflight.Group
}

type cacheItem struct {
	v       any
	expires time.Time
}

func newLDAPCache(ttl time.Duration, max int) *ldapCache {
	return &ldapCache{ttl: ttl, max: max, m: map[string]cacheItem{}}
}

func (c *ldapCache) get(key string) (any, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.m[key]
	if !ok || time.Now().After(it.expires) {
		return nil, false
	}
	return it.v, true
}

func (c *ldapCache) set(key string, v any) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		now := time.Now()
		for k, it := range c.m {
			if now.After(it.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[key] = cacheItem{v: v, expires: time.Now().Add(c.ttl)}
}

// Purge forgets every cached lookup (after a known directory change).
func (c *ldapCache) purge() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// cached returns the cached value for key or computes, caches and returns
// it. Errors are not cached: an outage must not outlive the outage.
func cached[T any](c *ldapCache, key string, fn func() (T, error)) (T, error) {
	if v, ok := c.get(key); ok {
		return v.(T), nil
	}
	v, err, _ := c.sf.Do(key, func() (any, error) {
		r, err := fn()
		if err == nil {
			c.set(key, r)
		}
		return r, err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}
