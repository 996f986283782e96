/*
 * Prometheus text format, version 0.0.4: "# HELP", "# TYPE", then samples.
 * Histograms are cumulative with a +Inf bucket, a _sum and a _count.
 */
#include <string.h>

#include "metrics.h"

void
histogram_init(struct histogram *h, const double *bounds, size_t nbounds)
{
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->nbounds = nbounds < HISTOGRAM_MAX_BUCKETS ? nbounds : HISTOGRAM_MAX_BUCKETS;
}

void
histogram_observe(struct histogram *h, double value)
{
	size_t i = 0;

	while (i < h->nbounds && value > h->bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += value;
}

double
histogram_quantile(const struct histogram *h, double q)
{
	uint64_t seen = 0;

	if (h->count == 0)
		return 0;
	for (size_t i = 0; i < h->nbounds; i++) {
		seen += h->counts[i];
		if ((double)seen >= q * (double)h->count)
			return h->bounds[i];
	}
	return h->nbounds ? h->bounds[h->nbounds - 1] : 0;
}

void
metrics_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_counter(FILE *f, const char *name, const char *help, uint64_t value)
{
	metrics_family(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)value);
}

void
metrics_gauge(FILE *f, const char *name, const char *help, double value)
{
	metrics_family(f, name, "gauge", help);
	fprintf(f, "%s %.17g\n", name, value);
}

void
metrics_labelled(FILE *f, const char *name, const char *label, const char *value, uint64_t v)
{
	fprintf(f, "%s{%s=\"%s\"} %llu\n", name, label, value, (unsigned long long)v);
}

void
metrics_histogram(FILE *f, const char *name, const char *help, const struct histogram *h)
{
	uint64_t cumulative = 0;

	metrics_family(f, name, "histogram", help);
	for (size_t i = 0; i < h->nbounds; i++) {
		cumulative += h->counts[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long)cumulative);
	}
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
	fprintf(f, "%s_sum %.17g\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->count);
}
