# SpecClust (Method 3b of Le's report): k-means on 20 left singular vectors of SA, 20 clusters, labelled by CA_CLIP.
_base_ = ['./agggem.py']
model = dict(type='SpecClust', num_vectors=20, num_clusters=20, kmeans_iters=50,
             svd='full')  # 'lowrank': only the 20 leading vectors, randomised (much faster on CPU)
