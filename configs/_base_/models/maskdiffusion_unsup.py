# Unsupervised MaskDiffusion (Kawano & Aoki 2024, Sec. 3.3, Table 3). Every field is documented in
# docs/methods/maskdiffusion_unsup.md. Predictions are cluster ids: evaluate with HungarianIoUMetric.
_base_ = ['./stable_diffusion_v1.py']
model = dict(
    type='UnsupervisedMaskDiffusion',
    prompt='',  # "For a fair comparison, we input an empty string as a prompt" (Sec. 4.2)
    image_size=(512, 512),
    timestep=1,  # as the open-vocabulary MaskDiffusion (Sec. 4.1)
    add_noise=True,
    seed=0,
    # internal features f: the same training-free layers as MaskDiffusion (8, 16, 32 for 512 inputs)
    feature_layers=['up_blocks.0.resnets.2', 'up_blocks.1.attentions.2', 'up_blocks.2.attentions.2'],
    cluster_size=(100, 100),  # f resized to 100 x 100 before the similarity map h (Sec. 3.3)
    clustering='spectral',  # 'kmeans': Table 3's "k-means on SD internal features" baseline
    num_clusters=10,  # not given by the paper: our choice per dataset, in the benchmark configs
    eigen_solver='lobpcg',  # only the smallest Laplacian eigenvectors; 'eigh' is the dense exact solver
    kmeans_iters=50,
    refine=True,  # clusters replace the cross-attention map of Eq. 5, then nearest prototype (Eq. 6)
    test_cfg=dict(mode='whole'),  # clusters are per input: slide crops would not agree
)
