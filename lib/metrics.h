/*
 * Prometheus text exposition: counters, gauges and fixed-bucket histograms
 * written into a memory stream by the daemon that serves /metrics.
 */
#ifndef GRIDWALL_METRICS_H
#define GRIDWALL_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HISTOGRAM_MAX_BUCKETS 16
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4"

struct histogram {
	const double *bounds;                     /* upper bounds, increasing */
	size_t nbounds;
	uint64_t counts[HISTOGRAM_MAX_BUCKETS + 1];  /* the last one is +Inf */
	uint64_t count;
	double sum;
};

void histogram_init(struct histogram *h, const double *bounds, size_t nbounds);
void histogram_observe(struct histogram *h, double value);
/* The value below which a fraction q of observations fall (bucket upper bound). */
double histogram_quantile(const struct histogram *h, double q);

/* One metric with its HELP and TYPE lines. */
void metrics_counter(FILE *f, const char *name, const char *help, uint64_t value);
void metrics_gauge(FILE *f, const char *name, const char *help, double value);
void metrics_histogram(FILE *f, const char *name, const char *help, const struct histogram *h);
/* The HELP and TYPE lines of a labelled family, then one line per label value. */
void metrics_family(FILE *f, const char *name, const char *type, const char *help);
void metrics_labelled(FILE *f, const char *name, const char *label, const char *value, uint64_t v);

#endif
