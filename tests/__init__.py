"""The test suite of peer-outreach: one folder per package, shared helpers at the top."""
