/*
 * l2norm.h - the one L2 normalisation every vector in scivec goes through
 * (pooling, the server's batcher, the index build), so a text's vector has
 * the same bits whichever path made it.
 */
#ifndef SV_L2NORM_H
#define SV_L2NORM_H

/* x / max(||x||, 1e-12), as torch.nn.functional.normalize (what
 * sentence-transformers' Normalize module runs): the norm is summed in
 * double and each element divided by it, rounded once to float. */
void sv_l2_normalize(float *x, int n);

#endif
