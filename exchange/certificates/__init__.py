"""Certificates (鉴证书、抵押登记证明、权属查询证明): PDFs generated from ledger entries, verifiable online and offline."""
