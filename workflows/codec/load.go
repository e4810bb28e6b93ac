package codec

import (
	"errors"
	"os"

	"go.temporal.io/sdk/converter"
)

// Converters are the data and failure converters of a keyring, for a
// client's or worker's options.
type Converters struct {
	Data    converter.DataConverter
	Failure converter.FailureConverter
	// KeyID is the key new payloads are encrypted with.
	KeyID string
}

// Load reads the keyring from keyFile, or from DPSWEEP_TEMPORAL_KEY when
// keyFile is empty. With neither it returns nil and no error: payloads are
// then stored in plain text, which the caller should say.
func Load(keyFile string) (*Converters, error) {
	if keyFile == "" && os.Getenv(EnvKey) == "" {
		return nil, nil
	}
	keys, err := LoadKeys(keyFile)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("codec: empty keyring")
	}
	dc, err := NewDataConverter(keys)
	if err != nil {
		return nil, err
	}
	return &Converters{Data: dc, Failure: NewFailureConverter(dc), KeyID: keys[0].ID}, nil
}

// Options returns dc and fc for client options, or nils for Temporal's defaults.
func (c *Converters) Options() (converter.DataConverter, converter.FailureConverter) {
	if c == nil {
		return nil, nil
	}
	return c.Data, c.Failure
}
