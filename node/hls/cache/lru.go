package cache

import "container/list"

// lru is a least-recently-used index bounded by the total size of its items,
// not by their number. Each item carries its own size; adding an item evicts
// from the cold end until the total fits again.
//
// An lru is not safe for concurrent use: the tier that owns one holds its own
// lock around every call (the split golang/groupcache makes between lru/ and
// its wrapper).
type lru[V any] struct {
	maxBytes  int64
	bytes     int64
	evictions uint64
	ll        *list.List // front = most recently used
	items     map[string]*list.Element

	// onEvict, if set, is called for each item removed to make room for
	// another (not for remove, nor for an item replaced under its own key).
	onEvict func(key string, v V)
}

type lruItem[V any] struct {
	key   string
	value V
	size  int64
}

func newLRU[V any](maxBytes int64, onEvict func(key string, v V)) *lru[V] {
	return &lru[V]{
		maxBytes: maxBytes,
		ll:       list.New(),
		items:    make(map[string]*list.Element),
		onEvict:  onEvict,
	}
}

// add stores v under key as the most recently used item and evicts the least
// recently used others until the bound holds. An item bigger than the whole
// bound is not stored (any older item under key is dropped, as it is now
// stale) and add reports false.
func (c *lru[V]) add(key string, v V, size int64) bool {
	if size < 0 {
		size = 0
	}
	if el, ok := c.items[key]; ok {
		c.removeElement(el)
	}
	if size > c.maxBytes {
		return false
	}
	for c.bytes+size > c.maxBytes {
		c.evictOldest()
	}
	c.items[key] = c.ll.PushFront(&lruItem[V]{key: key, value: v, size: size})
	c.bytes += size
	return true
}

// get returns the item under key and marks it most recently used.
func (c *lru[V]) get(key string) (v V, ok bool) {
	el, ok := c.items[key]
	if !ok {
		return v, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*lruItem[V]).value, true
}

// peek returns the item under key without changing its recency.
func (c *lru[V]) peek(key string) (v V, ok bool) {
	el, ok := c.items[key]
	if !ok {
		return v, false
	}
	return el.Value.(*lruItem[V]).value, true
}

// remove drops the item under key, reporting whether there was one.
func (c *lru[V]) remove(key string) (v V, ok bool) {
	el, ok := c.items[key]
	if !ok {
		return v, false
	}
	c.removeElement(el)
	return el.Value.(*lruItem[V]).value, true
}

// oldest returns the key of the least recently used item.
func (c *lru[V]) oldest() (key string, ok bool) {
	el := c.ll.Back()
	if el == nil {
		return "", false
	}
	return el.Value.(*lruItem[V]).key, true
}

func (c *lru[V]) evictOldest() {
	el := c.ll.Back()
	if el == nil {
		return
	}
	c.removeElement(el)
	c.evictions++
	if c.onEvict != nil {
		it := el.Value.(*lruItem[V])
		c.onEvict(it.key, it.value)
	}
}

func (c *lru[V]) removeElement(el *list.Element) {
	it := el.Value.(*lruItem[V])
	c.ll.Remove(el)
	delete(c.items, it.key)
	c.bytes -= it.size
}

// len is the number of items; size their total size.
func (c *lru[V]) len() int    { return c.ll.Len() }
func (c *lru[V]) size() int64 { return c.bytes }
