/*
 * api_reader.h - reader handles on an output folder (api_reader.c): a
 * second scivec_outdir over the same vectors and index with its own
 * papers.db connection.
 */
#ifndef SV_API_READER_H
#define SV_API_READER_H

#include "outputs/query.h"

/* Closes a reader's own papers.db connection and frees its shallow copy. */
void sv_api_reader_close(sv_outdir *copy);

#endif /* SV_API_READER_H */
