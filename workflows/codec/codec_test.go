package codec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
)

// Canaries planted in payloads: neither may appear in anything encoded.
const (
	canaryAccessKey = "AKIA2OGYBAH6STMMNXNN"
	canaryEmail     = "jane.doe@example.org"
)

func newKey(t *testing.T, id string) Key {
	t.Helper()
	k := Key{ID: id}
	if _, err := rand.Read(k.Secret[:]); err != nil {
		t.Fatal(err)
	}
	return k
}

func newCodec(t *testing.T, keys ...Key) *Codec {
	t.Helper()
	c, err := NewCodec(keys)
	if err != nil {
		t.Fatalf("NewCodec: %v", err)
	}
	return c
}

// jsonPayload is what the default data converter makes of v, unencrypted.
func jsonPayload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func assertEncrypted(t *testing.T, p *commonpb.Payload, keyID string) {
	t.Helper()
	if got := string(p.GetMetadata()[converter.MetadataEncoding]); got != EncodingEncrypted {
		t.Errorf("encoding = %q, want %q", got, EncodingEncrypted)
	}
	if got := string(p.GetMetadata()[MetadataKeyID]); got != keyID {
		t.Errorf("key ID = %q, want %q", got, keyID)
	}
	if len(p.GetMetadata()) != 2 {
		t.Errorf("metadata has %d entries, want 2 (encoding, key ID): %v", len(p.GetMetadata()), p.GetMetadata())
	}
}

type scanRecord struct {
	Account string
	Regions []string
	Owner   string
	Counts  map[string]int
	Raw     []byte
}

func TestDataConverterRoundTrip(t *testing.T) {
	k := newKey(t, "k1")
	dc, err := NewDataConverter([]Key{k})
	if err != nil {
		t.Fatal(err)
	}

	rec := scanRecord{
		Account: "123456789012",
		Regions: []string{"us-east-1", "eu-west-1"},
		Owner:   canaryEmail,
		Counts:  map[string]int{"FAIL": 3, "PASS": 7},
		Raw:     []byte{0, 1, 2, 0xff},
	}
	progress := &sweepv1.SweepProgress{AccountsTotal: 50, AccountsDone: 12, Errors: 1}
	var nilPtr *scanRecord

	payloads, err := dc.ToPayloads("text "+canaryAccessKey, 42, 3.5, true, rec, []byte("raw bytes"), progress, nilPtr)
	if err != nil {
		t.Fatalf("ToPayloads: %v", err)
	}
	if len(payloads.GetPayloads()) != 8 {
		t.Fatalf("%d payloads, want 8", len(payloads.GetPayloads()))
	}
	for i, p := range payloads.GetPayloads() {
		t.Run(fmt.Sprint("payload", i), func(t *testing.T) { assertEncrypted(t, p, "k1") })
	}

	var (
		gotS     string
		gotI     int
		gotF     float64
		gotB     bool
		gotRec   scanRecord
		gotBytes []byte
		gotProg  sweepv1.SweepProgress
		gotNil   *scanRecord
	)
	if err := dc.FromPayloads(payloads, &gotS, &gotI, &gotF, &gotB, &gotRec, &gotBytes, &gotProg, &gotNil); err != nil {
		t.Fatalf("FromPayloads: %v", err)
	}
	if gotS != "text "+canaryAccessKey || gotI != 42 || gotF != 3.5 || !gotB {
		t.Errorf("scalars = %q %d %v %v", gotS, gotI, gotF, gotB)
	}
	if fmt.Sprint(gotRec) != fmt.Sprint(rec) {
		t.Errorf("struct = %+v, want %+v", gotRec, rec)
	}
	if string(gotBytes) != "raw bytes" {
		t.Errorf("bytes = %q", gotBytes)
	}
	if !proto.Equal(&gotProg, progress) {
		t.Errorf("proto = %v, want %v", &gotProg, progress)
	}
	if gotNil != nil {
		t.Errorf("nil pointer came back as %v", gotNil)
	}

	// The proto message must come back with its own encoding: the whole
	// original payload, metadata included, is inside the ciphertext.
	dec, err := newCodec(t, k).Decode(payloads.GetPayloads()[6:7])
	if err != nil {
		t.Fatal(err)
	}
	if got := string(dec[0].GetMetadata()[converter.MetadataEncoding]); got != converter.MetadataEncodingProtoJSON {
		t.Errorf("inner encoding = %q, want %q", got, converter.MetadataEncodingProtoJSON)
	}

	// ToString, used by the SDK for display, decodes too.
	if s := dc.ToString(payloads.GetPayloads()[0]); !strings.Contains(s, canaryAccessKey) {
		t.Errorf("ToString = %q", s)
	}
}

func TestCiphertextHoldsNoPlaintext(t *testing.T) {
	k := newKey(t, "k1")
	c := newCodec(t, k)
	plain := []*commonpb.Payload{
		jsonPayload(t, map[string]string{"description": "key " + canaryAccessKey + " owner " + canaryEmail}),
		jsonPayload(t, canaryEmail),
		{Metadata: map[string][]byte{"encoding": []byte("binary/plain")}, Data: []byte(canaryAccessKey)},
	}
	enc, err := c.Encode(plain)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := proto.Marshal(&commonpb.Payloads{Payloads: enc})
	if err != nil {
		t.Fatal(err)
	}
	asJSON, err := protojson.Marshal(&commonpb.Payloads{Payloads: enc}) // as the UI receives it
	if err != nil {
		t.Fatal(err)
	}
	for _, encoded := range [][]byte{wire, asJSON} {
		for _, secret := range []string{
			canaryAccessKey, canaryEmail,
			base64.StdEncoding.EncodeToString([]byte(canaryAccessKey)),
			"json/plain", "binary/plain", // the inner metadata is encrypted too
		} {
			if bytes.Contains(encoded, []byte(secret)) {
				t.Errorf("encoded payloads contain %q", secret)
			}
		}
	}
	// The input must not have been changed in place.
	if string(plain[2].GetData()) != canaryAccessKey || string(plain[2].GetMetadata()["encoding"]) != "binary/plain" {
		t.Error("Encode modified its input")
	}
	// Same plaintext twice, different ciphertext: the nonce is random.
	again, err := c.Encode(plain[1:2])
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again[0].GetData(), enc[1].GetData()) {
		t.Error("encrypting the same payload twice gave the same bytes")
	}
	// nonce + ciphertext + tag
	if want := len(mustMarshal(t, plain[1])) + 12 + 16; len(enc[1].GetData()) != want {
		t.Errorf("ciphertext is %d bytes, want %d", len(enc[1].GetData()), want)
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTamperingFailsDecode(t *testing.T) {
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	c := newCodec(t, k1, k2)
	enc, err := c.Encode([]*commonpb.Payload{jsonPayload(t, "sensitive "+canaryEmail)})
	if err != nil {
		t.Fatal(err)
	}
	orig := enc[0]
	n := len(orig.GetData())

	tamper := map[string]func(p *commonpb.Payload){
		"nonce byte":      func(p *commonpb.Payload) { p.Data[0] ^= 1 },
		"ciphertext byte": func(p *commonpb.Payload) { p.Data[14] ^= 0x80 },
		"tag byte":        func(p *commonpb.Payload) { p.Data[n-1] ^= 1 },
		"truncated":       func(p *commonpb.Payload) { p.Data = p.Data[:n-1] },
		"too short":       func(p *commonpb.Payload) { p.Data = p.Data[:5] },
		"appended":        func(p *commonpb.Payload) { p.Data = append(p.Data, 0) },
		// k2 is in the keyring, but the key ID is bound into the tag.
		"key ID swapped": func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k2") },
		"key ID removed": func(p *commonpb.Payload) { delete(p.Metadata, MetadataKeyID) },
	}
	for name, f := range tamper {
		t.Run(name, func(t *testing.T) {
			p := proto.Clone(orig).(*commonpb.Payload)
			f(p)
			if _, err := c.Decode([]*commonpb.Payload{p}); err == nil {
				t.Fatal("Decode accepted a tampered payload")
			} else {
				t.Log(err)
			}
		})
	}
	// The key ID is authenticated: relabelling a payload with another ID of
	// the same secret fails too.
	alias := Key{ID: "alias", Secret: k1.Secret}
	p := proto.Clone(orig).(*commonpb.Payload)
	p.Metadata[MetadataKeyID] = []byte("alias")
	if _, err := newCodec(t, k1, alias).Decode([]*commonpb.Payload{p}); err == nil {
		t.Error("Decode accepted a payload relabelled with another key ID of the same secret")
	}
	// The untouched payload still decodes.
	if _, err := c.Decode(enc); err != nil {
		t.Fatalf("Decode of the original: %v", err)
	}
}

func TestUnknownKeyID(t *testing.T) {
	old, cur := newKey(t, "old-2024"), newKey(t, "k2025")
	enc, err := newCodec(t, old).Encode([]*commonpb.Payload{jsonPayload(t, "x")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = newCodec(t, cur).Decode(enc)
	if err == nil {
		t.Fatal("Decode with a keyring lacking the key succeeded")
	}
	if !errors.Is(err, ErrUnknownKey) {
		t.Errorf("error %v does not wrap ErrUnknownKey", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, `"old-2024"`) {
		t.Errorf("error does not name the key ID: %s", msg)
	}
	for _, k := range []Key{old, cur} {
		for _, s := range []string{
			base64.StdEncoding.EncodeToString(k.Secret[:]),
			base64.RawStdEncoding.EncodeToString(k.Secret[:]),
			fmt.Sprintf("%x", k.Secret[:]),
			fmt.Sprint(k.Secret),
			string(k.Secret[:]),
		} {
			if strings.Contains(msg, s) {
				t.Errorf("error reveals a secret of key %s: %s", k.ID, msg)
			}
		}
	}
	t.Log(msg)
}

func TestRotation(t *testing.T) {
	old, cur := newKey(t, "k2024"), newKey(t, "k2025")
	before := newCodec(t, old)
	encOld, err := before.Encode([]*commonpb.Payload{jsonPayload(t, "written under the old key")})
	if err != nil {
		t.Fatal(err)
	}
	assertEncrypted(t, encOld[0], "k2024")

	// Rotate: the new key goes first, the old one stays to decrypt.
	after := newCodec(t, cur, old)
	if after.CurrentKeyID() != "k2025" {
		t.Fatalf("current key = %q", after.CurrentKeyID())
	}
	dec, err := after.Decode(encOld)
	if err != nil {
		t.Fatalf("decoding an old payload after rotation: %v", err)
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &s); err != nil || s != "written under the old key" {
		t.Fatalf("decoded %q, %v", s, err)
	}

	encNew, err := after.Encode([]*commonpb.Payload{jsonPayload(t, "written under the new key")})
	if err != nil {
		t.Fatal(err)
	}
	assertEncrypted(t, encNew[0], "k2025")
	if _, err := after.Decode(encNew); err != nil {
		t.Fatal(err)
	}
	// A worker not yet given the new key cannot read it, and says which key.
	if _, err := before.Decode(encNew); err == nil || !strings.Contains(err.Error(), `"k2025"`) {
		t.Fatalf("old keyring decoding a new payload: %v", err)
	}
	// After retention, dropping the old key keeps new payloads readable.
	if _, err := newCodec(t, cur).Decode(encNew); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeLeavesUnencryptedPayloads(t *testing.T) {
	k := newKey(t, "k1")
	c := newCodec(t, k)
	plain := []*commonpb.Payload{
		jsonPayload(t, "from before encryption"),
		jsonPayload(t, nil),
		{Metadata: map[string][]byte{"encoding": []byte("binary/plain")}, Data: []byte{1, 2}},
		{},
	}
	enc, err := c.Encode(plain[:1])
	if err != nil {
		t.Fatal(err)
	}
	mixed := append(append([]*commonpb.Payload{}, plain...), enc[0])
	dec, err := c.Decode(mixed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range plain {
		if dec[i] != plain[i] {
			t.Errorf("payload %d was not returned untouched", i)
		}
	}
	if !proto.Equal(dec[4], plain[0]) {
		t.Errorf("encrypted payload decoded to %v", dec[4])
	}

	// Through the data converter: an old, unencrypted history still reads.
	dc, err := NewDataConverter([]Key{k})
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := dc.FromPayload(plain[0], &s); err != nil || s != "from before encryption" {
		t.Fatalf("FromPayload of an unencrypted payload: %q, %v", s, err)
	}
}

func TestNewCodecRejects(t *testing.T) {
	good := newKey(t, "ok")
	cases := map[string][]Key{
		"no keys":        nil,
		"empty ID":       {{Secret: good.Secret}},
		"ID with colon":  {{ID: "a:b", Secret: good.Secret}},
		"duplicate ID":   {good, good},
		"all-zero key":   {{ID: "zero"}},
		"zero after one": {good, {ID: "zero"}},
	}
	for name, keys := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := NewCodec(keys); err == nil {
				t.Fatal("NewCodec accepted it")
			} else {
				t.Log(err)
			}
			if _, err := NewDataConverter(keys); err == nil {
				t.Fatal("NewDataConverter accepted it")
			}
		})
	}
}

func TestKeyPrintingRedactsSecret(t *testing.T) {
	k := newKey(t, "k1")
	out := fmt.Sprintf("%v %+v %#v %s %v", k, k, k, k, []Key{k})
	for _, s := range []string{fmt.Sprint(k.Secret), fmt.Sprint(k.Secret[:]), base64.StdEncoding.EncodeToString(k.Secret[:]), fmt.Sprintf("%x", k.Secret)} {
		if strings.Contains(out, s) {
			t.Fatalf("printing a Key shows its secret: %s", out)
		}
	}
	if !strings.Contains(out, `"k1"`) {
		t.Errorf("printing a Key does not show its ID: %s", out)
	}
}

func TestFailureConverterEncryptsMessages(t *testing.T) {
	dc, err := NewDataConverter([]Key{newKey(t, "k1")})
	if err != nil {
		t.Fatal(err)
	}
	fc := NewFailureConverter(dc)
	f := fc.ErrorToFailure(fmt.Errorf("tag value %s owned by %s", canaryAccessKey, canaryEmail))
	wire := mustMarshal(t, f)
	if bytes.Contains(wire, []byte(canaryAccessKey)) || bytes.Contains(wire, []byte(canaryEmail)) {
		t.Fatalf("failure holds the message in plain text: %v", f)
	}
	if f.GetEncodedAttributes() == nil {
		t.Fatal("failure has no encoded attributes")
	}
	assertEncrypted(t, f.GetEncodedAttributes(), "k1")
	if back := fc.FailureToError(f); !strings.Contains(back.Error(), canaryAccessKey) {
		t.Fatalf("decoded failure = %q", back)
	}
}
