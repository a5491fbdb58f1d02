//! Health: the platform serving right now.
