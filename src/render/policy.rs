//! Policy checks on a rendered manifest set (in progress).
