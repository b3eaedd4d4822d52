/*
 * paper_fields.h - categories and years from paper fields (paper_fields.c).
 */
#ifndef SV_PAPER_FIELDS_H
#define SV_PAPER_FIELDS_H

#include <stddef.h>

/* Categories as a space-separated list, from a Python-list literal
 * ("['cs.CL', 'cs.AI']"), a JSON array, or a whitespace-separated string.
 * *out is NULL when there are none (caller frees). SCIVEC_ENOMEM only. */
int sv_normalize_categories(const char *text, size_t len, char **out);

/* The first standalone run of exactly 4 digits that is a plausible year
 * (1000..2999) in text: "2024", "2024.0", "2024-01-20T...", "Mon, 2 Apr 2007
 * 19:18:42 GMT". 0 when none. */
int sv_year_in_text(const char *text, size_t len);
/* The year of the first "created" date of arXiv's versions JSON array. */
int sv_year_from_versions(const char *json, size_t len);
/* The year an arXiv id was submitted: new style YYMM.NNNN(N) (2007 on) or
 * old style archive/YYMMNNN. 0 when the id is neither. */
int sv_year_from_arxiv_id(const char *id, size_t len);

#endif /* SV_PAPER_FIELDS_H */
