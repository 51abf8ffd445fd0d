// What the load generators under tools/ share: the server's CPU time from /proc
// and latency percentiles.

#ifndef CUSTODY_TOOLS_LOAD_UTIL_H_
#define CUSTODY_TOOLS_LOAD_UTIL_H_

#include <vector>

namespace custody::load {

// utime + stime of process `pid`, in seconds; 0 when it cannot be read.
double CpuSeconds(int pid);

// The p-th quantile (0..1) of `samples`, which it sorts; 0 when empty.
double Percentile(std::vector<double>& samples, double p);

}  // namespace custody::load

#endif  // CUSTODY_TOOLS_LOAD_UTIL_H_
