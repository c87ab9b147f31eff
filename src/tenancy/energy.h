// The energy and CO2 estimate attached to each usage record. It is an estimate from the
// model's size, not a measurement, and every input is a setting so that an operator can
// match it to their hardware and grid:
//
//   FLOPs = 2 x parameters x (prompt + completion) tokens   (one multiply-add per weight
//                                                            per token, forward pass only)
//   kWh   = FLOPs x joules_per_flop x PUE / 3.6e6
//   gCO2  = kWh x grid intensity (gCO2 per kWh)
//
// Attention's cost, which grows with context length, and idle power are left out, so the
// figure is a floor for long contexts and lightly loaded servers.
#pragma once

#include <cstdint>

#include "base/status.h"

namespace socle::tenancy {

struct EnergySettings {
  // 2.5e-12 J per FLOP is 0.4 TFLOP per joule: an accelerator at realistic inference
  // utilisation, not its peak datasheet figure.
  double joules_per_flop = 2.5e-12;
  // Power usage effectiveness: facility energy over IT energy (cooling, power conversion).
  double pue = 1.2;
  // Mainland France's grid average; operators elsewhere set their own.
  double grid_gco2_per_kwh = 56;
};

// OK if every setting is finite, joules_per_flop > 0, pue >= 1 and grid_gco2_per_kwh >= 0;
// INVALID_ARGUMENT naming the setting otherwise (for configuration loading).
Status check_energy_settings(const EnergySettings& settings);

struct EnergyEstimate {
  double kwh = 0;
  double co2_g = 0;
};

// The FLOPs of one request: 2 x params_billions x 1e9 x tokens. 0 when the parameter count
// is unknown (0, negative or not finite) or there are no tokens; negative token counts
// count as 0.
double inference_flops(double params_billions, int64_t prompt_tokens, int64_t completion_tokens);

// The energy (kWh) and emissions (grams of CO2) of one request, by the formula above.
// Both are 0 when the parameter count is unknown.
EnergyEstimate estimate_energy(double params_billions, int64_t prompt_tokens,
                               int64_t completion_tokens, const EnergySettings& settings);

}  // namespace socle::tenancy
