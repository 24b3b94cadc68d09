// `fusesim sweep`: expands a spec into points, runs each point in its own worker process
// (`fusesim run`, so SystemC elaborates once per process), stores the rows as they finish and
// prints the best points and the Pareto front.
#pragma once

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "sweep_spec.h"
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
// on-chip bytes. `shown` are the parameter columns printed for each row; `planned`, the points
// of the spec, when some may have no row (the first line counts those as without a row).
void print_summary(std::ostream& os, const std::vector<Row>& rows, const std::vector<std::string>& shown,
                   std::size_t planned = 0);
// Prints the summary and writes it to OUT/summary.txt; returns the sweep's exit code (1 when
// every row failed).
int report_summary(const std::string& out, const std::vector<Row>& rows,
                   const std::vector<std::string>& shown, std::size_t planned = 0);

// Results column of a point parameter: compiler.fusion -> fusion; arch.* keys stay whole.
std::string column_of(const std::string& key);
// The results columns (CSV order) of points with these parameters.
std::vector<std::string> result_columns(const std::vector<Param>& params);

// "[#####.....] 5/10  ok 4  failed 1  EXTRA  elapsed 3s  ETA 3s"; a NaN ETA prints as "?".
std::string progress_bar(std::size_t done, std::size_t total, std::size_t ok, std::size_t failed,
                         const std::string& extra, double elapsed_s, double eta_s);

// `s` single-quoted for a POSIX shell; `shell_word` quotes only when the shell needs it.
std::string shell_quote(const std::string& s);
std::string shell_word(const std::string& s);

// What progress lines count against: `already` of `total` points were done before this run;
// `params` are the columns shown for each finished point; `resume_hint` is the command that
// runs the points left without a row, printed when the run is interrupted.
struct RunProgress {
  std::size_t total = 0, already = 0;
  std::vector<std::string> params;
  std::string resume_hint;
};

// Runs `todo`, one worker process per point and at most `jobs` at a time, appending each
// point's row (failed points with their error) to `store`; workers write under `work_root`,
// which is emptied first and removed at the end. Progress goes to stderr.
//
// A stop from outside leaves points pending, never failed, so --resume runs them again:
//  - SIGINT, SIGTERM or SIGHUP to this process (Ctrl-C, kill, scancel, a Slurm time limit):
//    no new worker starts, the running ones are killed without a row, the interruption is
//    reported with `resume_hint`, and the process then dies of that signal as it would have;
//  - a worker killed by one of those signals that this process did not send (a signal to the
//    whole process group or job step can reach a worker first): no row for its point.
// Returns the number of points stopped that way, which the run leaves without a row.
std::size_t run_points(const std::vector<const Point*>& todo, const RunProgress& progress, unsigned jobs,
                       double timeout_s, ResultStore& store, const std::string& work_root);

}  // namespace sweep
}  // namespace fusesim
