"""Pools whose unlabelled images have no annotations yet: mmdet's VOC and COCO datasets
that keep every pool image and tell "annotated, no objects" from "not annotated yet".

Each image's data info says so (``annotated``), with a fingerprint of its annotation
(``label_digest``) and the class names in it outside ``classes`` (``unknown_classes``),
which ``ActivePoolHook(oracle='files')`` reads to check a query's labels. Every pool
image stays in the dataset whatever ``filter_cfg.filter_empty_gt`` says (an unannotated
image is a candidate, and an image labelled with no objects must not leave the pool when
its label arrives); ``min_size`` still applies.
"""
import glob
import os.path as osp

import mmcv
from mmengine.fileio import get, get_local_path, isdir, list_dir_or_file, list_from_file
from mmengine.logging import print_log
from mmdet.datasets import CocoDataset, VOCDataset
from mmdet.registry import DATASETS

from taal_det.labels import (ANNOTATED, LABEL_DIGEST, UNKNOWN_CLASSES, LabelError,
                             coco_record, digest, file_stem, match_files, read_coco_exports,
                             voc_record)


def _label_keys(record, classes):
    """The data-info keys of an image's annotation record (None: not annotated)."""
    if record is None:
        return {ANNOTATED: False, LABEL_DIGEST: None, UNKNOWN_CLASSES: []}
    return {ANNOTATED: True, LABEL_DIGEST: digest(record),
            UNKNOWN_CLASSES: sorted({obj[0] for obj in record} - set(classes))}


class _KeepsEveryImage:
    """``filter_data`` that drops no pool image for lack of boxes."""

    def filter_data(self):
        if self.test_mode or self.filter_cfg is None:
            return self.data_list
        if self.filter_cfg.get('filter_empty_gt'):
            print_log(f'{type(self).__name__} keeps images without boxes in the pool '
                      '(filter_empty_gt ignored)', logger='current')
        min_size = self.filter_cfg.get('min_size', 0)
        return [d for d in self.data_list if min(d['width'], d['height']) >= min_size]


@DATASETS.register_module()
class PartlyAnnotatedVOCDataset(_KeepsEveryImage, VOCDataset):
    """A VOC pool (the images listed in ``ann_file``) in which only annotated images have
    an XML file in ``ann_subdir``; a file without ``<object>`` is an image with no objects.

    Files are matched to image ids by name: ``<id>.xml``, or ``8f3a1c2e-<id>.xml`` as
    Label Studio's VOC export names the images uploaded to it.
    """

    def load_data_list(self):
        folder = osp.join(self.sub_data_root, self.ann_subdir)
        ids = list_from_file(self.ann_file, backend_args=self.backend_args)
        names = list(list_dir_or_file(folder, list_dir=False, suffix='.xml',
                                      backend_args=self.backend_args)) \
            if isdir(folder, backend_args=self.backend_args) else []
        self.label_files = {i: osp.join(folder, name) for i, name in
                            match_files(names, {i: i for i in ids}).items()}
        return super().load_data_list()

    def parse_data_info(self, img_info):
        path = self.label_files.get(img_info['img_id'])
        if path is None:
            img_path = osp.join(self.sub_data_root, img_info['file_name'])
            image = mmcv.imfrombytes(get(img_path, backend_args=self.backend_args),
                                     backend='cv2')
            return dict(img_path=img_path, img_id=img_info['img_id'], xml_path=None,
                        height=image.shape[0], width=image.shape[1], instances=[],
                        **_label_keys(None, ()))
        with get_local_path(path, backend_args=self.backend_args) as local:
            record = voc_record(local)  # refuses a malformed file, naming it
        info = super().parse_data_info(dict(img_info, xml_path=path))
        return dict(info, **_label_keys(record, self.metainfo['classes']))

    def label_hint(self, cycle):
        """Where a person puts the labels of the query for ``cycle``."""
        return ('export Pascal VOC XML and put the XML files into '
                f"{osp.join(self.sub_data_root, self.ann_subdir)}/")


@DATASETS.register_module()
class PartlyAnnotatedCocoDataset(_KeepsEveryImage, CocoDataset):
    """A COCO pool: ``ann_file`` lists every pool image and holds the annotations of the
    images labelled at the start; the labels of later queries are COCO JSON exports,
    every ``*.json`` in ``labels_dir`` (read in name order).

    An image is annotated when ``ann_file`` has annotations of it, when its id is listed
    in ``annotated_ids`` (a text file, one image id a line: images of ``ann_file``
    labelled with no objects), or when an export lists it (an export's image without
    boxes has no objects). Export images are matched to pool images by file name, with
    or without Label Studio's upload prefix, and their classes by name; an export's
    annotation of an image replaces that of ``ann_file``. Paths are relative to
    ``data_root``.
    """

    def __init__(self, labels_dir='labels', annotated_ids=None, **kwargs):
        root = kwargs.get('data_root') or ''
        self.labels_dir = osp.join(root, labels_dir)
        self.annotated_ids = annotated_ids and osp.join(root, annotated_ids)
        super().__init__(**kwargs)

    def load_data_list(self):
        paths = glob.glob(osp.join(self.labels_dir, '*.json'))
        self.exports = read_coco_exports(paths)  # {file name: (annotations, file)}
        self.listed_empty = set(list_from_file(self.annotated_ids)) \
            if self.annotated_ids else set()
        self._exported = None  # matched to pool images once mmdet has read ann_file
        return super().load_data_list()

    def _match_exports(self):
        """{pool image id: export annotations}; mmdet's ``self.coco`` is ann_file. Pool
        images of one file name in different folders are refused only when an export
        names them (it cannot say which)."""
        by_stem = {}
        for img_id, image in self.coco.imgs.items():
            by_stem.setdefault(file_stem(image['file_name']), []).append(img_id)
        self.category_id = {c['name']: c['id'] for c in self.coco.cats.values()}
        self.category_name = {c['id']: c['name'] for c in self.coco.cats.values()}
        matched = match_files(self.exports, {stem: stem for stem in by_stem})
        for stem, name in matched.items():
            if len(by_stem[stem]) > 1:
                raise LabelError(f'{self.ann_file}: images {", ".join(map(str, by_stem[stem]))} '
                                 f'have the same file name {stem}; the export of {name} '
                                 'cannot be matched to one of them')
        return {by_stem[stem][0]: self.exports[name][0] for stem, name in matched.items()}

    def parse_data_info(self, raw_data_info):
        if self._exported is None:
            self._exported = self._match_exports()
        img_id = raw_data_info['raw_img_info']['img_id']
        anns, exported = raw_data_info['raw_ann_info'], self._exported.get(img_id)
        if exported is not None:
            anns = [dict(id=k, image_id=img_id, category_id=self.category_id[a['name']],
                         bbox=a['bbox'], area=a['bbox'][2] * a['bbox'][3],
                         iscrowd=a['iscrowd'])
                    for k, a in enumerate(exported) if a['name'] in self.category_id]
            record = coco_record(exported)
        else:
            record = coco_record([dict(name=self.category_name[a['category_id']],
                                       bbox=a['bbox'], iscrowd=a.get('iscrowd', 0))
                                  for a in anns if not a.get('ignore')])
        annotated = exported is not None or bool(anns) or str(img_id) in self.listed_empty
        info = super().parse_data_info(dict(raw_data_info, raw_ann_info=anns))
        return dict(info, **_label_keys(record if annotated else None,
                                        self.metainfo['classes']))

    def label_hint(self, cycle):
        """Where a person puts the labels of the query for ``cycle``."""
        path = osp.join(self.labels_dir, f'cycle_{cycle}.json')
        return f'export COCO JSON and save it as {path}'
