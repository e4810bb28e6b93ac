// Package codec encrypts Temporal payloads with AES-256-GCM, so that workflow
// and activity inputs, results, signals, queries and memos reach the Temporal
// server (and its history, visibility store and UI) only as ciphertext.
//
// # Payload format
//
// [Codec.Encode] marshals the whole *commonpb.Payload (its metadata and its
// data) and seals it with AES-256-GCM under the keyring's current key and a
// random 12-byte nonce ([crypto/cipher.NewGCMWithRandomNonce]). The new
// payload carries
//
//	metadata "encoding"          = "binary/encrypted"
//	metadata "encryption-key-id" = the key's ID
//	data                         = nonce (12) || ciphertext || GCM tag (16)
//
// with the key ID also bound in as additional authenticated data, so changing
// the ID, the ciphertext or the nonce makes decoding fail. [Codec.Decode]
// leaves any payload without that encoding untouched, so histories written
// before encryption was turned on still read.
//
// # Keys and rotation
//
// A [Key] is an ID and 32 secret bytes. A keyring is a []Key: the first key
// encrypts, every key decrypts the payloads that name its ID. To rotate, put
// the new key first and keep the old ones after it for as long as histories
// written with them are retained (the namespace's retention period, plus any
// workflow still running). Rotate well before a key has sealed 2^32 payloads,
// the limit for random 96-bit nonces.
//
// Keys come from a file ([LoadKeyFile]) or from the environment variable
// DPSWEEP_TEMPORAL_KEY ([LoadKeyEnv]); [LoadKeys] picks one of the two. Both
// hold one key per line as "id:base64(32 bytes)" (or a single line of bare
// base64, whose ID is "default"); blank lines and lines starting with '#' are
// ignored, and a comma separates keys as well as a newline does, which is
// handier in an environment variable. Make a key with
//
//	(umask 077; printf 'k2025:%s\n' "$(head -c 32 /dev/urandom | base64)" > temporal.keys)
//
// # Clients and workers
//
// Every Temporal client and worker of a deployment, and the codec server,
// must share the keyring:
//
//	dc, err := codec.NewDataConverter(keys)
//	c, err := client.Dial(client.Options{
//		DataConverter:    dc,
//		FailureConverter: codec.NewFailureConverter(dc), // error messages and stack traces too
//	})
//
// Search attributes are never encoded by a data converter; they must hold
// identifiers only.
//
// # The codec server: pointing the Temporal UI and CLI at it
//
// With encryption on, the Temporal UI and `temporal workflow show` see only
// ciphertext. [NewServer] returns the HTTP handler of a codec server (the SDK's
// [converter.NewPayloadCodecHTTPHandler] behind CORS, an optional bearer token
// and a read-only default) that they call to decode. Serve it on its own
// listener, for example 127.0.0.1:8081, and tell the UI where it is: the UI
// appends /decode (and /encode) to the endpoint and POSTs
// {"payloads": [...]} from the browser, so the codec server must allow the
// UI's origin (ServerOptions.AllowOrigin, exactly as the browser's address bar
// shows it: scheme, host and port, no trailing slash; http://localhost:8233
// and http://127.0.0.1:8233 are different origins).
//
//   - Development server: temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8081
//     (its UI's origin is http://localhost:8233 by default).
//   - Self-hosted UI (temporalio/ui): the "codec" section of the UI server's
//     configuration, endpoint: http://127.0.0.1:8081, or the environment
//     variable TEMPORAL_CODEC_ENDPOINT. includeCredentials
//     (TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true) makes the browser send its
//     cookies for the codec server's origin; passAccessToken
//     (TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true) sends the UI's own OIDC access
//     token as "Authorization: Bearer ...".
//   - One browser only: the Codec Server setting of the UI, with the same
//     endpoint and the "pass the user access token" and "include
//     cross-origin credentials" switches.
//   - CLI: temporal workflow show -w <id> --codec-endpoint http://127.0.0.1:8081 --codec-auth "Bearer $TOKEN"
//     (--codec-auth is the whole Authorization header value).
//
// About ServerOptions.Token: the CLI sends it with --codec-auth, but the UI
// has no field for a static token; it sends only cookies or its own OIDC
// access token. To decode in the browser with a token set, put an
// authenticating proxy in front of the codec server that adds the header, or
// leave Token empty and keep the listener on loopback (the browser runs on the
// operator's own machine, next to the codec server).
//
// The codec server decodes only, unless ServerOptions.AllowEncode is set:
// /encode lets the UI and CLI start or signal workflows with encrypted input,
// which an operator inspecting histories does not need.
package codec
