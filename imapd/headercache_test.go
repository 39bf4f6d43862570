package imapd

import "testing"

// TestOpenBoxesShareAndDrop: sessions of one mailbox share its header
// cache; the last to leave drops it; a mailbox created again (another
// UIDVALIDITY) gets a fresh cache while the old holders keep theirs.
func TestOpenBoxesShareAndDrop(t *testing.T) {
	t.Parallel()
	o := newOpenBoxes()
	k := boxKey{"u@x", "INBOX"}
	a := o.acquire(k, 7)
	b := o.acquire(k, 7)
	if a != b {
		t.Fatal("two sessions of one mailbox got two caches")
	}
	c := &cachedHeader{}
	a.headers.put(3, c)
	if b.headers.get(3) != c {
		t.Error("the cache is not shared")
	}
	a.headers.drop([]uint32{3})
	if b.headers.get(3) != nil {
		t.Error("an expunged message's entry stayed")
	}
	a.headers.put(3, c)
	fresh := o.acquire(k, 8)
	if fresh == a || fresh.headers.get(3) != nil {
		t.Error("a new UIDVALIDITY shares the old cache")
	}
	o.release(fresh)
	o.release(a)
	if o.boxes[k] != nil {
		t.Error("the re-created mailbox's entry outlived its last session")
	}
	o.release(b)
	if len(o.boxes) != 0 {
		t.Errorf("%d open boxes after every release, want 0", len(o.boxes))
	}
	if d := o.acquire(k, 7); d.headers.get(3) != nil {
		t.Error("the cache outlived the last session")
	}
}
