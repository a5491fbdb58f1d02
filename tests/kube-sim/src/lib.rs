//! kube-sim: placeholder until the simulator lands.
