/*
 * recommend.h - papers like some and unlike others, from paper ids (the
 * Semantic Scholar recommendations API's semantics over an embed output).
 *
 * The rule, with every vector first scaled to unit length (so that each
 * paper counts the same whatever its norm):
 *
 *     query = unit( mean(positives) - mean(negatives) )
 *
 * (no negatives: unit(mean(positives))). The results are the papers of
 * highest cosine similarity to query, the input papers themselves left out:
 * positives pull the query toward them, negatives push it away.
 */
#ifndef SV_RECOMMEND_H
#define SV_RECOMMEND_H

#include <stdint.h>

#include "outputs/query.h"

/* query[od->n_cols] from rows of od. SCIVEC_EINVAL when there is no positive
 * or the positives and negatives cancel out (a zero vector). */
int sv_recommend_query(const sv_outdir *od, const int64_t *positive, int n_positive,
                       const int64_t *negative, int n_negative, float *query);

/* The k best papers for query (filter may be NULL), none of the rows in
 * exclude[0..n_exclude); hits[k]. */
int sv_recommend_top_k(const sv_outdir *od, const float *query, int64_t k, const int64_t *exclude,
                       int n_exclude, const sv_filter *filter, sv_hit *hits, int64_t *n_hits);

#endif /* SV_RECOMMEND_H */
