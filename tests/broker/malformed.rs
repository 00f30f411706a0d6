//! Malformed and hostile input: the connection is closed with the right reason, others carry on.
