"""Test support shared by every app's tests: environment, live servers, clients."""
