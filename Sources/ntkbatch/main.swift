import ArgumentParser
import CBLAS
print("ntkbatch")
