"""Hooks that connect the test loop to training-free models."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..registry import HOOKS


@HOOKS.register_module()
class VocabularyHook(Hook):
    """Before testing, give the model the dataset's class names unless its config set ``class_names``.

    If the config did set them, their number must equal the dataset's, or every class id would be
    evaluated against the wrong ground truth.
    """

    priority = 'VERY_HIGH'

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'set_vocabulary'):
            return
        classes = runner.test_dataloader.dataset.metainfo.get('classes')
        if model.vocabulary_from_config:
            if classes is not None and len(classes) != model.num_classes:
                raise ValueError(f'model.class_names lists {model.num_classes} classes but the test dataset has '
                                 f'{len(classes)} ({type(runner.test_dataloader.dataset).__name__}); they must '
                                 'match one to one, in order')
            return
        if not classes:
            raise ValueError('the test dataset has no metainfo["classes"]; set model.class_names in the config')
        model.set_vocabulary(list(classes))
