      * The reply record a COBOL program reads back.
       01 RESULT-REC.
          05 RS-CLAIM-ID         PIC X(8).
          05 RS-P-BENIGN         PIC S9(3)V9(6) COMP-3.
          05 RS-P-MALIGNANT      PIC S9(3)V9(6) COMP-3.
          05 RS-LABEL            PIC 9.
          05 RS-MODEL-VERSION    PIC X(4).
