package engine

import (
	"sync"

	"github.com/wshold/wshold/internal/identify"
)

// maxAnswers bounds the distinct identities one run keeps: a server that
// varies its headers per answer must not grow memory with every
// connection. Past it, answers are no longer described (nil).
const maxAnswers = 256

// answerCache keeps one identify.Answer per distinct identity, so that the
// thousands of alike 101s of a run share one value and recording one costs
// a hash and a map lookup. The zero value is ready to use; it is safe for
// concurrent use (openers, loops and wss goroutines all upgrade).
type answerCache struct {
	mu sync.Mutex
	m  map[uint64]*identify.Answer
}

// of returns the identity of a raw answer (status line, header block and
// what arrived of the body), scrubbed of secrets the server may echo.
func (c *answerCache) of(raw []byte, scrub func(string) string) *identify.Answer {
	if len(raw) == 0 {
		return nil
	}
	k := identify.Key(raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.m[k]; ok {
		return a
	}
	if len(c.m) >= maxAnswers {
		return nil
	}
	if c.m == nil {
		c.m = map[uint64]*identify.Answer{}
	}
	a := identify.Parse(raw, scrub)
	c.m[k] = a
	return a
}
