package iamd

// Observer is told what the Service does inside, for metrics. Its methods
// must be cheap and safe for concurrent use; they never receive a key ID,
// a name or a secret.
type Observer interface {
	// CredentialLookup reports a credential served from memory (hit) or
	// read from the store.
	CredentialLookup(hit bool)
	// KeyUseFlush reports a batch of key uses written (or not, err).
	KeyUseFlush(batch int, err error)
}

type noObserver struct{}

func (noObserver) CredentialLookup(bool)  {}
func (noObserver) KeyUseFlush(int, error) {}
