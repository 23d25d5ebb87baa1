package exchange

import "context"

// Prune runs one pass of the pruning now, as the background loop does
// every Config.PruneEvery.
func (r *Records) Prune(ctx context.Context) (int, error) { return r.prune(ctx) }

// PrefixIndex is the prefix of the time index keys.
const PrefixIndex = prefixIndex
