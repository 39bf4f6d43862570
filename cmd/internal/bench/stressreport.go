package main

// The stress load's report: one table, a column pair per server.

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"
)

// percentile returns the p-th percentile (0-100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p/100))]
}

// printStress prints results side by side: one column per server.
func printStress(w io.Writer, title string, names []string, results []*stressResult) {
	fmt.Fprintf(w, "\n%s\n\n", title)
	tw := newTable(w)
	head := "operation"
	for _, n := range names {
		head += "\t" + n + " ops/s\tp50/p90/p99 ms"
	}
	fmt.Fprintln(tw, head)
	line := func(label string, f func(r *stressResult) string) {
		s := label
		for _, r := range results {
			s += "\t" + f(r)
		}
		fmt.Fprintln(tw, s)
	}
	line("all operations", func(r *stressResult) string {
		var all []time.Duration
		for _, o := range r.ops {
			all = append(all, o.lat...)
		}
		return fmt.Sprintf("%.0f\t%s", r.rate(), pcts(all))
	})
	for _, op := range stressMix {
		line("  "+op.name, func(r *stressResult) string {
			o := r.ops[op.name]
			return fmt.Sprintf("%.1f\t%s", float64(o.n)/r.elapsed.Seconds(), pcts(o.lat))
		})
	}
	allowed := map[string]bool{}
	for _, r := range results {
		for k := range r.allowed {
			allowed[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(allowed)) {
		line("allowed race: "+k, func(r *stressResult) string { return fmt.Sprintf("%d\t", r.allowed[k]) })
	}
	line("protocol errors", func(r *stressResult) string { return fmt.Sprintf("%d\t", r.errCount()) })
	kinds := map[string]bool{}
	for _, r := range results {
		for k := range r.errs {
			kinds[k] = true
		}
	}
	ks := make([]string, 0, len(kinds))
	for k := range kinds {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	for _, k := range ks {
		line("  "+k, func(r *stressResult) string {
			if e := r.errs[k]; e != nil {
				return fmt.Sprintf("%d\t", e.n)
			}
			return "0\t"
		})
	}
	line("untagged responses checked", func(r *stressResult) string {
		return fmt.Sprintf("%d\t%d EXISTS, %d EXPUNGE, %d VANISHED, %d FETCH", r.seen["EXISTS"]+r.seen["EXPUNGE"]+r.seen["VANISHED"]+r.seen["FETCH"]+r.seen["FLAGS"]+r.seen["SEARCH"]+r.seen["OK"],
			r.seen["EXISTS"], r.seen["EXPUNGE"], r.seen["VANISHED"], r.seen["FETCH"])
	})
	line("unsolicited FETCH FLAGS changing nothing", func(r *stressResult) string { return fmt.Sprintf("%d\t(not an error)", r.redundant) })
	tw.Flush()
	for i, r := range results {
		fmt.Fprintf(w, "%s capabilities after login: %s\n", names[i], r.caps)
	}
	for i, r := range results {
		for _, f := range r.fatal {
			fmt.Fprintf(w, "%s: %s\n", names[i], f)
		}
		for _, k := range ks {
			if e := r.errs[k]; e != nil {
				fmt.Fprintf(w, "\n%s, %s (%d), first examples:\n", names[i], k, e.n)
				for _, ex := range e.examples {
					fmt.Fprintf(w, "  - %s\n", ex)
				}
			}
		}
	}
}

func pcts(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	f := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) }
	return f(percentile(ds, 50)) + "/" + f(percentile(ds, 90)) + "/" + f(percentile(ds, 99))
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }
