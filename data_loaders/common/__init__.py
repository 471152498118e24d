"""What every dataset shares: the dataset contract and registry (:mod:`.base`), clips of long
videos (:mod:`.clips`), the split names (:mod:`.splits`), resumable conversion (:mod:`.conversion`),
atomic writes (:mod:`.atomic`) and reading the files users give (:mod:`.files`)."""
