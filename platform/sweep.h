// `fusesim sweep`: expands a spec into points, runs each point in its own worker process
// (`fusesim run`, so SystemC elaborates once per process), stores the rows as they finish and
// prints the best points and the Pareto front.
#pragma once

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "sweep_store.h"

namespace fusesim {

// Exit codes: 0 the sweep ran (failed points are recorded in the results), 1 every point
// failed, 2 bad usage or a bad spec.
int sweep_main(const std::vector<std::string>& args);

namespace sweep {

// Indices of the points that no other point beats in both coordinates (both minimized),
// ordered by increasing x. Points with a NaN coordinate are ignored; of equal points the
// first is kept.
std::vector<std::size_t> pareto_front(const std::vector<std::pair<double, double>>& xy);

// Per model: the best ok row by cycles and by energy, and the Pareto front of cycles against
// on-chip bytes. `shown` are the parameter columns printed for each row.
void print_summary(std::ostream& os, const std::vector<Row>& rows, const std::vector<std::string>& shown);

}  // namespace sweep
}  // namespace fusesim
