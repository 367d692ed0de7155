"""Write DiffSegmenter's 5,000-image COCO 2014 validation list from the official category-filter output.

    python tools/dataset_converters/coco2014_val5k.py predict_syn_txt_0.8_img_0.97.json -o data/coco2014/val_5k.txt

The official evaluation scores COCO-Object on a 5k subset of val2014 whose id list is not released; its
filter output (dataset/coco/predict_syn_txt_0.8_img_0.97.json in VCG-team/DiffSegmenter) has one entry per
image of that subset. This writes their names, one a line without the suffix (mmseg's ann_file format), sorted.
With --data-root it also checks that every image and label map is there.
"""
import argparse
import json
import os.path as osp
import sys


def image_names(path: str) -> list[str]:
    """The image names (no suffix) that every section of the official JSON lists, sorted."""
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    sections = list(data.values()) if isinstance(data, dict) else []
    if not sections or not all(isinstance(s, dict) for s in sections):
        raise ValueError(f"{path}: expected the official filter output, an object of sections "
                         "('synonym_matching', 'image_similarity', 'text_similarity') mapping image names to classes")
    keys = [set(s) for s in sections]
    if any(k != keys[0] for k in keys):
        raise ValueError(f'{path}: the sections list different images')
    return sorted(osp.splitext(k)[0] for k in keys[0])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('json', help='the official predict_syn_txt_0.8_img_0.97.json of the COCO benchmark')
    parser.add_argument('-o', '--out', required=True, help='the list to write (e.g. data/coco2014/val_5k.txt)')
    parser.add_argument('--data-root', help='check that images/val2014/<name>.jpg and '
                                            'SegmentationClass/val2014/<name>.png exist under this root')
    args = parser.parse_args(argv)
    names = image_names(args.json)
    if args.data_root:
        missing = [n for n in names
                   if not (osp.isfile(osp.join(args.data_root, 'images/val2014', n + '.jpg'))
                           and osp.isfile(osp.join(args.data_root, 'SegmentationClass/val2014', n + '.png')))]
        if missing:
            print(f'{len(missing)} of {len(names)} images or label maps are missing under {args.data_root}, '
                  f'e.g. {missing[0]}', file=sys.stderr)
            return 1
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write('\n'.join(names) + '\n')
    print(f'{len(names)} image names written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
