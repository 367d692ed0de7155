# SpecClust (Method 3b of Le's report): k-means on 20 left singular vectors of SA, 20 clusters, labelled by CA_CLIP.
_base_ = ['./agggem.py']
model = dict(type='SpecClust', num_vectors=20, num_clusters=20, kmeans_iters=50,
             svd='full',  # 'lowrank': only the 20 leading vectors, randomised (much faster on CPU)
             # the report's code (run_specclust_torch): SVD of D1^-1/2 SA D2^-1/2, the first 20 vectors scaled by
             # D1^-1/2; 'dhillon': the trivial vector skipped (the cited method); 'none': SA's own (its text)
             normalization='normalized')
