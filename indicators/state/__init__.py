"""The attainment state: the current declared value of each indicator and the attainment of each group and of the
prerequisites, per establishment and programme, kept in the transaction of every write that changes them
(`writer.refresh_attainment`) so that no page evaluates attainment over the value history (`selectors`)."""
