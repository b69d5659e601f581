      * Result of scoring one claim with the breast-cancer model, as Bridgeway writes it.
      * Fixed-length records of 80 bytes; text and zoned numbers in the output code page.
       01  RESULT-REC.
           05  CLAIM-ID              PIC X(10).
           05  LABEL                 PIC 9.
           05  P-BENIGN              PIC 9V9(6).
           05  P-MALIGNANT           PIC 9V9(6).
           05  MODEL-NAME            PIC X(20).
           05  MODEL-VERSION         PIC X(4).
           05  RECORD-NO             PIC 9(9).
           05  FILLER                PIC X(22).
