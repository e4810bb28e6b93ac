package engine

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"unicode/utf8"
)

// Operator is what Redact does with a detected value.
type Operator int

// Operators.
const (
	OperatorReplace Operator = iota + 1 // "[ENTITY_TYPE]" or a fixed replacement
	OperatorMask                        // mask characters, keeping the last N
	OperatorHash                        // "[ENTITY_TYPE:<keyed hash>]", stable across calls and services
	OperatorEncrypt                     // "[ENC:ENTITY_TYPE:<AES-256-GCM token>]", reversible with Decrypt
	OperatorRemove                      // delete the value
	OperatorKeep                        // leave the value (still reported)
)

func (o Operator) String() string {
	switch o {
	case OperatorReplace:
		return "replace"
	case OperatorMask:
		return "mask"
	case OperatorHash:
		return "hash"
	case OperatorEncrypt:
		return "encrypt"
	case OperatorRemove:
		return "remove"
	case OperatorKeep:
		return "keep"
	}
	return "unspecified"
}

// ParseOperator maps an operator's name back to it.
func ParseOperator(s string) (Operator, error) {
	for o := OperatorReplace; o <= OperatorKeep; o++ {
		if o.String() == strings.ToLower(s) {
			return o, nil
		}
	}
	return 0, fmt.Errorf("unknown operator %q: want replace, mask, hash, encrypt, remove or keep", s)
}

// OperatorConfig is an operator with its settings.
type OperatorConfig struct {
	Operator Operator
	// MaskChar replaces each character for OperatorMask; '*' when zero.
	MaskChar rune
	// KeepLast characters stay visible with OperatorMask.
	KeepLast int
	// Replacement replaces the value for OperatorReplace; "[ENTITY_TYPE]" when empty.
	Replacement string
}

// Policy chooses what to detect and what to do with it.
type Policy struct {
	// Default applies to entity types without their own operator; replace
	// with the type tag when its Operator is zero.
	Default OperatorConfig
	// Operators per entity type.
	Operators map[string]OperatorConfig
	// Entities, when non-empty, restricts detection to these entity types.
	Entities map[string]bool
	// MinConfidence drops detections below it; zero keeps everything.
	MinConfidence Confidence
}

// operatorFor returns the operator for an entity type.
func (p *Policy) operatorFor(entity string) OperatorConfig {
	if oc, ok := p.Operators[entity]; ok && oc.Operator != 0 {
		return oc
	}
	if p.Default.Operator != 0 {
		return p.Default
	}
	return OperatorConfig{Operator: OperatorReplace}
}

// Span is a half-open range.
type Span struct{ Start, End int }

// Finding is a detection as reported to callers: offsets in three units,
// a keyed fingerprint instead of the value, and the operator applied.
type Finding struct {
	Entity, Detector string
	Category         Category
	Confidence       Confidence
	UTF8, CodePoints Span
	UTF16            Span
	Fingerprint      string
	Operator         Operator
}

// Keys hold the secrets of the keyed operators.
type Keys struct {
	hash        []byte      // HMAC-SHA256 key for pseudonyms
	fingerprint []byte      // HMAC-SHA256 key for finding fingerprints
	aead        cipher.AEAD // AES-256-GCM for OperatorEncrypt
	// Keyed HMAC states, reused: keying a new one per value costs more than the hash.
	hashMACs, fpMACs sync.Pool
}

// NewKeys builds keys from a hash key (at least 32 bytes) and a 32-byte
// AES-256 encryption key.
func NewKeys(hashKey, encryptionKey []byte) (*Keys, error) {
	if len(hashKey) < 32 {
		return nil, fmt.Errorf("hash key: %d bytes, want at least 32", len(hashKey))
	}
	if len(encryptionKey) != 32 {
		return nil, fmt.Errorf("encryption key: %d bytes, want 32 (AES-256)", len(encryptionKey))
	}
	block, err := aes.NewCipher(encryptionKey)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	// The AEAD draws each nonce itself and puts it before the ciphertext,
	// the layout tokens always had; FIPS 140-3 mode (GODEBUG=fips140=only)
	// allows AES-GCM only this way.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	fp := hmac.New(sha256.New, hashKey)
	fp.Write([]byte("dpsweep finding fingerprint v1"))
	k := &Keys{hash: append([]byte(nil), hashKey...), fingerprint: fp.Sum(nil), aead: aead}
	k.hashMACs.New = func() any { return &keyedMAC{h: hmac.New(sha256.New, k.hash)} }
	k.fpMACs.New = func() any { return &keyedMAC{h: hmac.New(sha256.New, k.fingerprint)} }
	return k, nil
}

// RandomKeys returns fresh random keys: pseudonyms and tokens made with
// them are stable only for the life of the process.
func RandomKeys() *Keys {
	var h, e [32]byte
	if _, err := rand.Read(h[:]); err != nil {
		panic(err)
	}
	if _, err := rand.Read(e[:]); err != nil {
		panic(err)
	}
	k, err := NewKeys(h[:], e[:])
	if err != nil {
		panic(err)
	}
	return k
}

// keyedMAC is a keyed HMAC state with scratch space, pooled.
type keyedMAC struct {
	h   hash.Hash
	buf []byte
}

func mac(pool *sync.Pool, v string) string {
	m := pool.Get().(*keyedMAC)
	m.h.Reset()
	m.buf = append(m.buf[:0], v...)
	m.h.Write(m.buf)
	m.buf = m.h.Sum(m.buf[:0])
	var out [16]byte
	hex.Encode(out[:], m.buf[:8])
	pool.Put(m)
	return string(out[:])
}

// Pseudonym is the keyed hash OperatorHash puts in place of v.
func (k *Keys) Pseudonym(v string) string { return mac(&k.hashMACs, v) }

// Fingerprint is the keyed fingerprint reported in findings.
func (k *Keys) Fingerprint(v string) string { return mac(&k.fpMACs, v) }

const encPrefix = "[ENC:"

func (k *Keys) encrypt(entity, v string) (string, error) {
	// nonce (12 bytes) || ciphertext || tag (16 bytes).
	sealed := k.aead.Seal(make([]byte, 0, len(v)+k.aead.Overhead()), nil, []byte(v), []byte(entity))
	return encPrefix + entity + ":" + base64.RawURLEncoding.EncodeToString(sealed) + "]", nil
}

// Decrypt replaces every "[ENC:TYPE:token]" that these keys open with its
// value, and returns the text and how many tokens it opened. Tokens that do
// not open (another key, tampered) are left as they are.
func (k *Keys) Decrypt(text string) (string, int) {
	var b strings.Builder
	n, last := 0, 0
	for i := 0; ; {
		j := strings.Index(text[i:], encPrefix)
		if j < 0 {
			break
		}
		start := i + j
		close := strings.IndexByte(text[start:], ']')
		if close < 0 {
			break
		}
		tok := text[start+len(encPrefix) : start+close]
		i = start + len(encPrefix)
		colon := strings.IndexByte(tok, ':')
		if colon <= 0 {
			continue
		}
		entity, enc := tok[:colon], tok[colon+1:]
		raw, err := base64.RawURLEncoding.DecodeString(enc)
		if err != nil || len(raw) < k.aead.Overhead() {
			continue
		}
		plain, err := k.aead.Open(nil, nil, raw, []byte(entity))
		if err != nil {
			continue
		}
		b.WriteString(text[last:start])
		b.Write(plain)
		last = start + close + 1
		i = last
		n++
	}
	if n == 0 {
		return text, 0
	}
	b.WriteString(text[last:])
	return b.String(), n
}

// Redactor applies policies with the engine and a set of keys.
type Redactor struct {
	Engine *Engine
	Keys   *Keys
}

// ErrNoKeys is returned when a policy asks to hash or encrypt and the
// redactor has no keys.
var ErrNoKeys = errors.New("the hash and encrypt operators need keys")

// Detect returns the findings of text under p, without changing it.
func (r *Redactor) Detect(text string, p *Policy) []Finding {
	buf := matchBufs.Get().(*[]Match)
	defer putMatches(buf)
	*buf = r.Engine.Detect((*buf)[:0], text)
	ms := r.filter(*buf, p)
	fs := make([]Finding, len(ms))
	for i, m := range ms {
		fs[i] = r.findingOnce(text, ms[:i], fs[:i], m, 0)
	}
	fillOffsets(text, fs)
	return fs
}

// Redact scrubs text under p and reports what it found. Offsets in the
// findings refer to the input text.
func (r *Redactor) Redact(text string, p *Policy) (string, []Finding, error) {
	buf := matchBufs.Get().(*[]Match)
	defer putMatches(buf)
	*buf = r.Engine.Detect((*buf)[:0], text)
	ms := r.filter(*buf, p)
	if len(ms) == 0 {
		return text, nil, nil
	}
	var b strings.Builder
	b.Grow(len(text))
	fs := make([]Finding, len(ms))
	last := 0
	for i, m := range ms {
		oc := p.operatorFor(m.Entity)
		fs[i] = r.findingOnce(text, ms[:i], fs[:i], m, oc.Operator)
		b.WriteString(text[last:m.Start])
		if err := r.apply(&b, oc, m.Entity, text[m.Start:m.End]); err != nil {
			return "", nil, err
		}
		last = m.End
	}
	b.WriteString(text[last:])
	fillOffsets(text, fs)
	return b.String(), fs, nil
}

// matchBufs holds the detection buffers of Detect and Redact, which never
// return their matches (findings copy what they need).
var matchBufs = sync.Pool{New: func() any { return new([]Match) }}

// putMatches returns a buffer to matchBufs unless a huge text grew it.
func putMatches(buf *[]Match) {
	if cap(*buf) <= 4096 {
		matchBufs.Put(buf)
	}
}

func (r *Redactor) filter(ms []Match, p *Policy) []Match {
	out := ms[:0]
	for _, m := range ms {
		if m.Confidence < p.MinConfidence || len(p.Entities) > 0 && !p.Entities[m.Entity] {
			continue
		}
		out = append(out, m)
	}
	return out
}

// findingOnce is the finding of m, the i-th match, given the findings of
// earlier (the matches before it): a value repeated through a text is
// fingerprinted once, looking back over a bounded number of findings so
// that the work stays linear.
func (r *Redactor) findingOnce(text string, earlier []Match, prev []Finding, m Match, op Operator) Finding {
	f := Finding{Entity: m.Entity, Detector: m.Detector, Category: m.Category, Confidence: m.Confidence,
		UTF8: Span{m.Start, m.End}, Operator: op}
	if r.Keys == nil {
		return f
	}
	v := text[m.Start:m.End]
	for j := len(prev) - 1; j >= 0 && j >= len(prev)-8; j-- {
		if o := earlier[j]; o.End-o.Start == len(v) && text[o.Start:o.End] == v {
			f.Fingerprint = prev[j].Fingerprint
			return f
		}
	}
	f.Fingerprint = r.Keys.Fingerprint(v)
	return f
}

func (r *Redactor) apply(b *strings.Builder, oc OperatorConfig, entity, v string) error {
	switch oc.Operator {
	case OperatorKeep:
		b.WriteString(v)
	case OperatorRemove:
	case OperatorMask:
		mc := oc.MaskChar
		if mc == 0 {
			mc = '*'
		}
		n := utf8.RuneCountInString(v)
		keep := min(max(oc.KeepLast, 0), n)
		for i := 0; i < n-keep; i++ {
			b.WriteRune(mc)
		}
		if keep > 0 {
			// The last keep runes of v.
			cut := len(v)
			for i := 0; i < keep; i++ {
				_, size := utf8.DecodeLastRuneInString(v[:cut])
				cut -= size
			}
			b.WriteString(v[cut:])
		}
	case OperatorHash:
		if r.Keys == nil {
			return ErrNoKeys
		}
		b.WriteByte('[')
		b.WriteString(entity)
		b.WriteByte(':')
		b.WriteString(r.Keys.Pseudonym(v))
		b.WriteByte(']')
	case OperatorEncrypt:
		if r.Keys == nil {
			return ErrNoKeys
		}
		tok, err := r.Keys.encrypt(entity, v)
		if err != nil {
			return err
		}
		b.WriteString(tok)
	default: // OperatorReplace
		if oc.Replacement != "" {
			b.WriteString(oc.Replacement)
		} else {
			b.WriteByte('[')
			b.WriteString(entity)
			b.WriteByte(']')
		}
	}
	return nil
}

// fillOffsets sets the code-point and UTF-16 spans of findings whose UTF-8
// spans are set, sorted and disjoint, in one pass over text.
func fillOffsets(text string, fs []Finding) {
	i, cp, u16 := 0, 0, 0
	advance := func(to int) {
		for i < to {
			b := text[i]
			if b < utf8.RuneSelf {
				i++
				cp++
				u16++
				continue
			}
			r, size := utf8.DecodeRuneInString(text[i:])
			i += size
			cp++
			if r >= 0x10000 {
				u16 += 2
			} else {
				u16++
			}
		}
	}
	for k := range fs {
		advance(fs[k].UTF8.Start)
		fs[k].CodePoints.Start, fs[k].UTF16.Start = cp, u16
		advance(fs[k].UTF8.End)
		fs[k].CodePoints.End, fs[k].UTF16.End = cp, u16
	}
}
