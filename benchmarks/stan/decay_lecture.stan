// The lecture's decay model: known manufacture times, flat prior on alpha > 0,
// N_initial uniform on (0, N_initial_max) per widget (implicit, from the bounds),
// one normal measurement per widget. Times in the data's unit (seconds).
data {
  int<lower=1> N_widgets;
  vector[N_widgets] t_initial;         // manufacture time (known)
  vector[N_widgets] t_measured;        // measurement time
  vector[N_widgets] N_measured;        // measured amount
  vector<lower=0>[N_widgets] sigma_N_measured;
  real<lower=0> N_initial_max;
}
parameters {
  real<lower=0> alpha;                                   // decay rate, flat on (0, inf)
  vector<lower=0, upper=N_initial_max>[N_widgets] N_initial;
}
model {
  N_measured ~ normal(N_initial .* exp(-alpha * (t_measured - t_initial)), sigma_N_measured);
}
