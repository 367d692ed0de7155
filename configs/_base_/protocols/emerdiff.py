# EmerDiff's evaluation (Namekata et al., ICLR 2024, Sec. 4.3, App. A-B), used by a config as
#     test_dataloader = dict(dataset=dict(pipeline={{_base_.emerdiff_test_pipeline}}))
#     test_evaluator = {{_base_.modified_evaluator}}   # or traditional_evaluator
# Images go in at their original size (the model resizes to about 512^2 and back by nearest neighbour).
# modified (Table 2): concept of a class = mean pixel embedding of its ground-truth pixels over the dataset;
# traditional (Table 1): as many concepts as classes by k-means, then one Hungarian matching. Both use the cosine
# distance (the traditional k-means on unit vectors, 10 seeded initialisations): MaskEmbeddingIoUMetric's fields.
emerdiff_test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSegAnnotations'),
    dict(type='PackSegInputs'),
]
modified_evaluator = dict(_delete_=True, type='MaskEmbeddingIoUMetric', protocol='modified')
traditional_evaluator = dict(_delete_=True, type='MaskEmbeddingIoUMetric', protocol='traditional')
