      * Result of scoring one claim with the breast-cancer model, as Bridgeway writes it.
      * Fixed-length records of 80 bytes; text and zoned numbers in the output code page.
      * Items carry the record prefix RS- (LABEL alone is a reserved word); each takes the
      * result column named like the rest of its name (RS-P-MALIGNANT <- p_malignant).
       01  RESULT-REC.
           05  RS-CLAIM-ID           PIC X(10).
           05  RS-LABEL              PIC 9.
           05  RS-P-BENIGN           PIC 9V9(6).
           05  RS-P-MALIGNANT        PIC 9V9(6).
           05  RS-MODEL-NAME         PIC X(20).
           05  RS-MODEL-VERSION      PIC X(4).
           05  RS-RECORD-NO          PIC 9(9).
           05  FILLER                PIC X(22).
