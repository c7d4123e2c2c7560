"""What the SDK costs an application, against the bare call and the peers."""
