package money

// Add returns a+b and true, or 0 and false if the sum overflows int64.
func Add(a, b int64) (int64, bool) {
	s := a + b
	// Overflow happened iff a and b have the same sign and s has the other.
	if (s^a)&(s^b) < 0 {
		return 0, false
	}
	return s, true
}

// Sub returns a-b and true, or 0 and false if the difference overflows
// int64.
func Sub(a, b int64) (int64, bool) {
	d := a - b
	// Overflow happened iff a and b have different signs and d has b's.
	if (a^b)&(d^a) < 0 {
		return 0, false
	}
	return d, true
}
