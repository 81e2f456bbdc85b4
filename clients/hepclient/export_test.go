package hepclient

import "time"

// BackoffWait exposes Backoff.wait to the tests.
func BackoffWait(b Backoff, attempt int) time.Duration { return b.wait(attempt) }
