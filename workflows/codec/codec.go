package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const (
	// EncodingEncrypted is the "encoding" metadata of an encrypted payload.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID is the metadata entry naming the key that encrypted a
	// payload.
	MetadataKeyID = "encryption-key-id"
)

// Codec is a [converter.PayloadCodec] that encrypts payloads with AES-256-GCM
// under the first key of its keyring and decrypts with whichever key a
// payload names. It is safe for concurrent use.
type Codec struct {
	current string
	aeads   map[string]cipher.AEAD
	ids     []string // keyring order, for error messages
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec returns a Codec over keys; keys[0] encrypts. It refuses an empty
// keyring, invalid or repeated IDs, and all-zero secrets (a Key whose Secret
// was never filled in).
func NewCodec(keys []Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("codec: %w", ErrNoKeys)
	}
	c := &Codec{current: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, k := range keys {
		if !validKeyID(k.ID) {
			return nil, fmt.Errorf("codec: key %d: ID %q is not valid: use 1 to 64 characters from A-Z a-z 0-9 . _ -", i, k.ID)
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("codec: key ID %q appears twice in the keyring", k.ID)
		}
		if k.Secret == [KeySize]byte{} {
			return nil, fmt.Errorf("codec: key %q has an all-zero secret", k.ID)
		}
		block, err := aes.NewCipher(k.Secret[:])
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		c.aeads[k.ID] = aead
		c.ids = append(c.ids, k.ID)
	}
	return c, nil
}

// CurrentKeyID is the ID of the key Encode uses.
func (c *Codec) CurrentKeyID() string { return c.current }

// additionalData binds the key ID into the GCM tag.
func additionalData(keyID string) []byte {
	return []byte(EncodingEncrypted + "\x00" + keyID)
}

// Encode encrypts each payload whole (metadata and data) into a new payload
// of encoding "binary/encrypted".
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.current]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil {
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("codec: payload %d: marshal: %w", i, err)
		}
		// NonceSize is 0: Seal draws a random 12-byte nonce and prepends it.
		sealed := aead.Seal(nil, nil, plain, additionalData(c.current))
		clear(plain)
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(c.current),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// ErrUnknownKey is returned, wrapped, when a payload names a key ID the
// keyring does not hold.
var ErrUnknownKey = errors.New("unknown encryption key ID")

// Decode decrypts the payloads of encoding "binary/encrypted" and returns
// every other payload as it is, so histories written before encryption still
// read. A payload that was altered, or names a key the keyring lacks, is an
// error.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil || string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		if id == "" {
			return payloads, fmt.Errorf("codec: payload %d is encrypted but has no %q metadata", i, MetadataKeyID)
		}
		aead, ok := c.aeads[id]
		if !ok {
			return payloads, fmt.Errorf("codec: payload %d: %w %q: the keyring holds %s; add that key (after the current one) to the key file or %s",
				i, ErrUnknownKey, id, strings.Join(c.ids, ", "), EnvKey)
		}
		plain, err := aead.Open(nil, nil, p.GetData(), additionalData(id))
		if err != nil {
			return payloads, fmt.Errorf("codec: payload %d: decrypting with key %q failed: the payload was altered, or key %q is not the key that encrypted it", i, id, id)
		}
		var dec commonpb.Payload
		err = proto.Unmarshal(plain, &dec)
		clear(plain)
		if err != nil {
			return payloads, fmt.Errorf("codec: payload %d: decrypted with key %q but is not a payload: %w", i, id, err)
		}
		out[i] = &dec
	}
	return out, nil
}

// NewDataConverter returns the SDK's default data converter wrapped with an
// encrypting [Codec] over keys. Use it for every client and worker (see the
// package documentation).
func NewDataConverter(keys []Key) (converter.DataConverter, error) {
	c, err := NewCodec(keys)
	if err != nil {
		return nil, err
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c), nil
}

// NewFailureConverter returns a failure converter that moves the message and
// stack trace of every failure into an encoded payload, through dc (from
// [NewDataConverter]). Without it error messages, which can quote the data a
// sweep handles, are stored in plain text even when payloads are encrypted.
func NewFailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}
