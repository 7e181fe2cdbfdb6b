"""The establishment's AMI tab (annex 5) and the pages around it: the GHT support queue, the AMI menu entry, the
notifications. Views are in the modules; nothing is re-exported here."""
