"""Labels from people: annotation tools' exports read back, mapped to pool image ids and
checked against a query (plain Python, no mmengine)."""
from .exports import (LabelError, coco_record, digest, file_stem, match_files, match_stem,
                      read_coco_exports, voc_record)
from .review import review_labels

# Keys a partly annotated pool dataset adds to each image's data info.
ANNOTATED = 'annotated'            # has an annotation (possibly with no objects)
LABEL_DIGEST = 'label_digest'      # fingerprint of that annotation (None without one)
UNKNOWN_CLASSES = 'unknown_classes'  # class names in it outside the dataset's classes

__all__ = ['LabelError', 'coco_record', 'digest', 'file_stem', 'match_files', 'match_stem',
           'read_coco_exports', 'voc_record', 'review_labels', 'ANNOTATED', 'LABEL_DIGEST',
           'UNKNOWN_CLASSES']
