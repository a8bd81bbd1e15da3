"""Errors of the catalogue (each a LibraryError with a stable code)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from library.errors import LibraryError


class RecordNotFound(LibraryError):
    code = "record_not_found"
    status = 404
    message = _l("找不到书目记录：%(record_id)s")


class ItemNotFound(LibraryError):
    code = "item_not_found"
    status = 404
    message = _l("找不到条码为 %(barcode)s 的馆藏")


class DuplicateBarcode(LibraryError):
    code = "duplicate_barcode"
    status = 409
    message = _l("条码 %(barcode)s 已被使用")


class InvalidMarc(LibraryError):
    code = "invalid_marc"
    status = 422
    message = _l("MARC 记录有误：%(detail)s")


class ItemNotMovable(LibraryError):
    code = "item_not_movable"
    status = 409
    message = _l("馆藏当前状态为“%(status)s”，不能调拨或注销")


class UnknownItemType(LibraryError):
    code = "unknown_item_type"
    status = 422
    message = _l("未知的文献类型：%(code)s")


class ImportFileInvalid(LibraryError):
    code = "import_file_invalid"
    status = 422
    message = _l("无法导入该文件：%(detail)s")


class RecordHasCopies(LibraryError):
    code = "record_has_copies"
    status = 409
    message = _l("这条书目还有 %(n)s 个未注销的复本，请先注销或移走复本")


class ImportNotResumable(LibraryError):
    code = "import_not_resumable"
    status = 409
    message = _l("这次导入不能继续：它现在的状态是“%(status)s”，只有中断的导入可以继续")


class ImportSuperseded(LibraryError):
    code = "import_superseded"
    status = 409
    message = _l("这次导入已被标记为中断或已由另一个进程继续，本进程不再写入")
