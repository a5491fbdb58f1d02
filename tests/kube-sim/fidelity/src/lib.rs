//! kube-sim's fidelity tests live in `tests/` beside this empty library:
//! kube-sim itself is built optimised in the dev and test profiles (it runs
//! inside every cluster test), these tests are not (compiled at opt-level 2
//! they cost about three minutes of CPU and run no faster). Cargo sets
//! optimisation per package, hence a package of their own.
